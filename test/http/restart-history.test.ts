// After a restart the service reads an address's past bans when it first meets that
// address again, not all at start-up. Escalation and recidive must come out the same as
// without the restart: for an address that only comes back later, and for one another
// process (the CLI) banned after the restart, before the service met it or after it met
// it with no history at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.ts';
import { createCore } from '../../server/core.ts';
import { databasePath } from '../../server/config/load.ts';
import { openDatabase } from '../../server/store/db.ts';
import { addSite, attempt, signedHeaders, tempDir, testConfig, type TestSite } from '../support/service.ts';

const RETURNING = '203.0.113.50'; // four wordpress bans, then back after the restart
const CLI_BANNED = '203.0.113.51'; // three wordpress bans, a CLI ban after the restart, then back
const FRESH = '203.0.113.52'; // first seen after the restart, then banned in wordpress by another process
const IMPORTED = '203.0.113.53'; // an ended fail2ban ban imported by another process, then back
const BYSTANDERS = Array.from({ length: 30 }, (_, i) => `198.51.100.${i + 1}`);

async function scenario(restart: boolean) {
  const tmp = tempDir();
  const config = testConfig(tmp.dir);
  // Two days back, so the escalating bans (1h, 2h, 4h, 8h) end before the real now.
  let clock = Date.now() - 2 * 86_400_000;
  const build = async () => {
    const app = await buildApp(config, { backgroundJobs: false, now: () => clock });
    await app.ready();
    return app;
  };
  let app: FastifyInstance = await build();
  const site: TestSite = addSite(app);
  const post = async (ip: string, failures: number) => {
    const body = JSON.stringify({ events: Array.from({ length: failures }, () => attempt(ip, { occurred_at: new Date(clock).toISOString() })) });
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clock / 1000)), payload: body });
    assert.equal(res.statusCode, 200, res.body);
  };
  const bansOf = (ip: string) =>
    app.core.store.bansForIpKey(ip).reverse().map((b) => ({ jail: b.jail, ban_count: b.ban_count, seconds: (Date.parse(b.expires_at) - Date.parse(b.created_at)) / 1000, reason: b.reason }));
  try {
    for (const ip of BYSTANDERS) await post(ip, 5);
    for (let round = 1; round <= 4; round++) {
      await post(RETURNING, 5);
      if (round <= 3) await post(CLI_BANNED, 5);
      // Past the longest of these bans, and out of wordpress's findtime.
      clock = Math.max(...app.core.store.activeBans().map((b) => Date.parse(b.expires_at))) + 1000;
      app.core.bans.liftExpired();
    }
    assert.equal(bansOf(RETURNING).length, 4);
    if (restart) {
      await app.close();
      app = await build();
      assert.equal(app.core.jails.bans.size, 0, 'start-up read no ban: no event of the last findtime needed one');
    }
    await post(FRESH, 1); // met: nothing in its history
    // The ban history's filter is warm (as the background jobs make it): a "no" is trusted while in step.
    while (!app.core.bans.warmLookups());

    // Another process bans CLI_BANNED by hand, as `edgejail ban` does with its own core.
    const db = openDatabase(databasePath(config));
    try {
      const cli = createCore(config, db, { now: () => clock });
      cli.bans.manualBan({ ipKey: CLI_BANNED, durationSeconds: 600, reason: 'seen in the access log', actor: 'cli' });
      // As a separate `edgejail tail` bans: in a jail of the service's own.
      cli.bans.manualBan({ ipKey: FRESH, jail: 'wordpress', durationSeconds: 3600, reason: 'from the access log', actor: 'jail:wordpress' });
      // As `edgejail import fail2ban` keeps a ban that has ended: history only.
      cli.bans.importBan({ ipKey: IMPORTED, jail: 'fail2ban:wordpress-hard', reason: 'fail2ban', banCount: 1, startedAtMs: clock - 7_200_000, expiresAtMs: clock - 3_600_000, actor: 'import:fail2ban' });
    } finally {
      db.close();
    }
    app.core.bans.syncFromStore();
    clock += 1000;

    // Four bans before: each failure counts 9, so one is a ban (16 h), and the fifth ban in a day is recidive.
    await post(RETURNING, 1);
    await post(CLI_BANNED, 1);
    // Banned in wordpress already: its failures bring no second wordpress ban.
    await post(FRESH, 5);
    await post(IMPORTED, 1);
    const importedMarks = app.core.jails.bans.list(IMPORTED).map((b) => b.jail);
    return { returning: bansOf(RETURNING), cliBanned: bansOf(CLI_BANNED), fresh: bansOf(FRESH), importedMarks };
  } finally {
    await app.close();
    tmp.cleanup();
  }
}

test('an address first met after a restart escalates and reaches recidive as it would without the restart', async () => {
  const straight = await scenario(false);
  assert.deepEqual(straight.returning.slice(4).map((b) => [b.jail, b.ban_count, b.seconds]), [['wordpress', 5, 16 * 3600], ['recidive', 1, 7 * 86_400]]);
  assert.deepEqual(straight.cliBanned.slice(3).map((b) => [b.jail, b.ban_count]), [['manual', 1], ['wordpress', 4], ['recidive', 1]]);
  assert.match(straight.cliBanned.at(-1)!.reason, /^5 bans \(wordpress×4, manual×1\) in 1d$/);
  assert.deepEqual(straight.fresh.map((b) => [b.jail, b.reason]), [['wordpress', 'from the access log']]);
  assert.deepEqual(straight.importedMarks, ['fail2ban:wordpress-hard'], 'the imported ban is in the jails\' memory when the address comes back');
  const restarted = await scenario(true);
  assert.deepEqual(restarted, straight);
});
