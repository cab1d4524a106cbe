// A manual ban counts towards recidive like a jail's ban, and the ban service applies the
// recidive decision it brings: a row, an audit entry, outbox work the enforcer follows.
// The same outcome whether or not the service restarts in the middle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.ts';
import { adminHeaders, addSite, attempt, signedHeaders, tempDir, testConfig, type TestSite } from '../support/service.ts';

// Short wordpress bans without escalation, so four of them fit in minutes of test clock.
const JAILS = { wordpress: { bantime: '1m', bantime_increment: { enabled: false } } };
const IP = '203.0.113.90';

async function waitFor<T>(what: string, probe: () => T | undefined | null | false): Promise<T> {
  for (let i = 0; i < 2000; i++) {
    const value = probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function scenario(restartAfterWordpressBans: boolean) {
  const tmp = tempDir();
  const config = testConfig(tmp.dir, { jails: JAILS });
  // Starts an hour ago so every event is in the past for the contract's clock check.
  let clock = Date.now() - 3_600_000;
  const build = async () => {
    const app = await buildApp(config, { backgroundJobs: false, now: () => clock });
    await app.ready();
    return app;
  };
  let app: FastifyInstance = await build();
  const site: TestSite = addSite(app);
  const post = (events: unknown[]) => {
    const body = JSON.stringify({ events });
    return app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clock / 1000)), payload: body });
  };
  try {
    for (let n = 1; n <= 4; n++) {
      const res = await post(Array.from({ length: 5 }, () => attempt(IP, { occurred_at: new Date(clock).toISOString() })));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().decisions[0]?.jail, 'wordpress', `wordpress ban #${n}`);
      clock += 61_000;
      app.core.bans.liftExpired();
    }
    if (restartAfterWordpressBans) {
      await app.close();
      app = await build();
    }
    const manual = await app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: IP, duration: '1h', reason: 'seen in the access log' } });
    assert.equal(manual.statusCode, 201, manual.body);

    const active = app.core.store.activeBansForIpKey(IP);
    const recidive = active.find((ban) => ban.jail === 'recidive');
    assert.ok(recidive, `a recidive ban row exists (active: ${active.map((b) => b.jail).join(', ')})`);
    assert.equal(Date.parse(recidive.expires_at) - clock, 7 * 86_400_000);
    assert.match(recidive.reason, /^5 bans \(wordpress×4, manual×1\) in 1d$/);
    const audit = app.core.store.auditForIpKey(IP).filter((a) => a.action === 'ban').map((a) => a.actor);
    assert.ok(audit.includes('jail:recidive'), `audited: ${audit.join(', ')}`);
    assert.equal(app.core.bans.currentBan(IP)?.jail, 'recidive');

    // Enforced: the enforcer (dry run here) applies the recidive ban's week, not the manual hour.
    const enforced = await waitFor('the recidive ban to be enforced', () =>
      app.core.db.prepare('SELECT applied_until, notes FROM cloudflare_enforcement WHERE ip_key = ? AND applied_until = ?').get(IP, recidive.expires_at) as
        | { applied_until: string; notes: string }
        | undefined,
    );
    assert.match(enforced.notes, /recidive/);

    // No phantom: a restart replays the same history and decides nothing new.
    await app.close();
    app = await build();
    assert.equal(app.core.store.activeBansForIpKey(IP).filter((ban) => ban.jail === 'recidive').length, 1);
    assert.equal(app.core.bans.currentBan(IP)?.jail, 'recidive');
    return { recidiveReason: recidive.reason, bans: app.core.store.bansForIpKey(IP).map((b) => b.jail).sort() };
  } finally {
    await app.close();
    tmp.cleanup();
  }
}

test('4 wordpress bans and 1 manual ban in a day bring an enforced recidive ban', async () => {
  await scenario(false);
});

test('the same with a restart between the wordpress bans and the manual ban: same outcome', async () => {
  const straight = await scenario(false);
  const restarted = await scenario(true);
  assert.deepEqual(restarted, straight);
});
