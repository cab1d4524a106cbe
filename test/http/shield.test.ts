// The login shield through the real service on real SQLite: a distributed attack raises it,
// the plugin's answer says so, the audit log explains it in figures, it is lowered on time,
// by hand on the admin API, and it survives a restart.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../server/app.ts';
import { openDatabase } from '../../server/store/db.ts';
import type { FastifyInstance } from 'fastify';
import { adminHeaders, attempt, signedHeaders, startService, type TestSite } from '../support/service.ts';

const ZONE = 'fedcba9876543210fedcba9876543210';
// The tests move the service's clock forward by some 40 minutes; starting an hour back keeps
// every event's occurred_at in the past, as the contract requires.
let clock = Date.now() - 3600_000;

/** Signed and dated at the service's (test) clock. */
async function postEvents(app: FastifyInstance, site: TestSite, events: Array<Record<string, unknown>>) {
  const body = JSON.stringify({ events: events.map((e) => ({ ...e, occurred_at: new Date(clock).toISOString() })) });
  return app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clock / 1000)), payload: body });
}
let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService({}, { now: () => clock }, { CLOUDFLARE_ZONE_ID: ZONE });
});
after(async () => svc.close());

const ip = (i: number) => `198.51.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`;

/** `ips` bot addresses × `perIp` wrong passwords over 4 usernames, in batches as the plugin sends them. */
async function botnet(site: TestSite, ips: number, perIp: number, firstIp = 0) {
  const users = ['admin', 'administrator', 'shop', 'test'];
  const events = [];
  for (let round = 0; round < perIp; round++) {
    for (let i = 0; i < ips; i++) events.push(attempt(ip(firstIp + i), { username: users[(round * ips + i) % 4] }));
  }
  let last;
  for (let i = 0; i < events.length; i += 200) {
    last = await postEvents(svc.app, site, events.slice(i, i + 200));
    assert.equal(last.statusCode, 200, last.body);
  }
  return last!.json();
}

const shields = async () => (await svc.app.inject({ method: 'GET', url: '/v1/shields', headers: adminHeaders })).json().shields;
const auditOf = (siteId: string) => svc.app.core.db.prepare("SELECT actor, action, detail FROM audit_log WHERE site_id = ? AND action LIKE 'shield%' ORDER BY id").all(siteId) as Array<{ actor: string; action: string; detail: string }>;

test('2,000 IPs × 3 wrong passwords raise the shield; the answer to the plugin and the audit row say why', async () => {
  const quiet = await postEvents(svc.app, svc.site, [attempt('203.0.113.1')]);
  assert.deepEqual(quiet.json().shield, { up: false });

  const answer = await botnet(svc.site, 2000, 3);
  assert.equal(answer.decisions.length, 0, 'no per-IP jail fires: 3 tries each');
  assert.equal(answer.shield.up, true);
  assert.equal(answer.shield.since, new Date(clock).toISOString());
  assert.equal(answer.shield.until, new Date(clock + 30 * 60_000).toISOString());
  assert.match(answer.shield.reason, /^\d+ failures from \d+ IPs in 5m; '(admin|administrator|shop|test)' from \d+ IPs$/);

  const [up, ...rest] = auditOf(svc.site.id);
  assert.equal(up!.actor, 'shield:detector');
  assert.equal(up!.action, 'shield_up');
  assert.equal(JSON.parse(up!.detail).until, answer.shield.until);
  assert.ok(rest.every((r) => r.action === 'shield_extend'));

  const [row] = await shields();
  assert.equal(row.up, true);
  assert.equal(row.zone_id, ZONE, 'the zone defaults to CLOUDFLARE_ZONE_ID');
  assert.equal(row.enabled, true);
  assert.equal(row.failures, 6001);

  const metrics = (await svc.app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders })).body;
  assert.match(metrics, new RegExp(`edgejail_shield_active\\{site="${svc.site.id}"\\} 1`));
  assert.match(metrics, new RegExp(`edgejail_shield_failures_per_minute\\{site="${svc.site.id}"\\} 1200\\.2`));
});

test('the shield is extended while the attack lasts and lowered once it has not been seen for bantime', async () => {
  clock += 10 * 60_000;
  const during = await botnet(svc.site, 120, 1, 5000);
  assert.equal(during.shield.until, new Date(clock + 30 * 60_000).toISOString(), 'extended to 30m after the latest failure');
  assert.equal(auditOf(svc.site.id).at(-1)!.action, 'shield_extend');

  clock += 30 * 60_000 - 1;
  assert.equal(svc.app.core.shield.tick(), 0, 'still up 1 ms before bantime has passed');
  clock += 1;
  assert.equal(svc.app.core.shield.tick(), 1);
  const down = auditOf(svc.site.id).at(-1)!;
  assert.equal(down.actor, 'system');
  assert.equal(down.action, 'shield_down');
  assert.match(JSON.parse(down.detail).reason, /^attack last seen .*; now 0 failures from 0 IPs in 5m$/);
  assert.deepEqual((await postEvents(svc.app, svc.site, [attempt('203.0.113.2')])).json().shield, { up: false });
});

test('raised and lowered by hand on the admin API, by site id or name; bad input is a clear 4xx', async () => {
  const up = await svc.app.inject({ method: 'POST', url: `/v1/sites/test-site/shield`, headers: adminHeaders, payload: { duration: '1h', reason: 'pen test tonight' } });
  assert.equal(up.statusCode, 201, up.body);
  assert.equal(up.json().shield.expires_at, new Date(clock + 3600_000).toISOString());
  assert.equal(up.json().shield.raised_by, 'admin:api');
  const again = await svc.app.inject({ method: 'POST', url: `/v1/sites/${svc.site.id}/shield`, headers: adminHeaders, payload: { duration: '10m' } });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().extended, true);
  assert.equal(again.json().shield.expires_at, new Date(clock + 3600_000).toISOString(), 'never shortened');
  assert.equal((await postEvents(svc.app, svc.site, [attempt('203.0.113.3')])).json().shield.reason, 'raised by hand');

  const down = await svc.app.inject({ method: 'DELETE', url: `/v1/sites/${svc.site.id}/shield`, headers: adminHeaders });
  assert.equal(down.statusCode, 200);
  assert.equal(down.json().shield.lowered_by, 'admin:api');
  assert.equal((await svc.app.inject({ method: 'DELETE', url: `/v1/sites/${svc.site.id}/shield`, headers: adminHeaders })).json().error, 'not_up');

  for (const [payload, code] of [[{ duration: 'forever' }, 400], [{ reason: '' }, 400], [{ colour: 'red' }, 400]] as const) {
    const res = await svc.app.inject({ method: 'POST', url: `/v1/sites/${svc.site.id}/shield`, headers: adminHeaders, payload });
    assert.equal(res.statusCode, code, JSON.stringify(payload));
    assert.equal(res.json().error, 'invalid_payload');
  }
  const unknown = await svc.app.inject({ method: 'POST', url: '/v1/sites/nope/shield', headers: adminHeaders, payload: {} });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error, 'unknown_site');
  assert.equal((await svc.app.inject({ method: 'GET', url: '/v1/shields' })).statusCode, 401);
});

test('GET /v1/sites shows each site’s zone and hostname: set, or the defaults', async () => {
  await postEvents(svc.app, svc.site, [{ id: crypto.randomUUID(), type: 'hello', occurred_at: new Date().toISOString(), site_url: 'https://Shop.Example.com/blog' }]);
  const [site] = (await svc.app.inject({ method: 'GET', url: '/v1/sites', headers: adminHeaders })).json().sites;
  assert.equal(site.zone_id, ZONE);
  assert.equal(site.hostname, 'shop.example.com', "the host of the hello's site_url");
  svc.app.core.shield.setSiteZone(svc.site.id, { zone_id: '0123456789abcdef0123456789abcdef', hostname: 'www.example.org' });
  const [set] = (await svc.app.inject({ method: 'GET', url: '/v1/sites', headers: adminHeaders })).json().sites;
  assert.equal(set.zone_id, '0123456789abcdef0123456789abcdef');
  assert.equal(set.hostname, 'www.example.org');
  assert.equal(set.secret, undefined);
});

test('a shield up survives a restart, and the attack window with it', async () => {
  const fresh = await startService({}, {}, { CLOUDFLARE_ZONE_ID: ZONE });
  try {
    const events = Array.from({ length: 25 }, (_, i) => attempt(ip(9000 + i)));
    const body = JSON.stringify({ events });
    const state = (await fresh.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(fresh.site, body), payload: body })).json();
    assert.equal(state.shield.up, true);
    const app2 = await buildApp(fresh.config, { backgroundJobs: false, db: openDatabase(`${fresh.dir}/edgejail.db`) });
    try {
      assert.deepEqual(app2.core.shield.answerFor(fresh.site.id), state.shield);
      assert.equal(app2.core.shield.status()[0]!.failures, 25, 'the window was replayed from SQLite');
    } finally {
      await app2.close();
    }
  } finally {
    await fresh.close();
  }
});

test('a spool of old failures flushed after an outage does not raise the shield', async () => {
  const fresh = await startService({}, {}, { CLOUDFLARE_ZONE_ID: ZONE });
  try {
    const old = new Date(Date.now() - 6 * 60_000).toISOString();
    const events = Array.from({ length: 50 }, (_, i) => attempt(ip(i), { occurred_at: old }));
    const body = JSON.stringify({ events });
    const res = (await fresh.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(fresh.site, body), payload: body })).json();
    assert.equal(res.accepted, 50);
    assert.equal(res.shield.up, false);
    assert.equal(fresh.app.core.shield.status()[0]!.failures, 0, 'older than findtime: not counted');
  } finally {
    await fresh.close();
  }
});

test('without a zone the shield is off by default; shield.enabled: true turns it on anyway', async () => {
  const off = await startService({}, { now: () => clock });
  const on = await startService({ shield: { enabled: true } }, { now: () => clock });
  try {
    for (const [s, expected] of [[off, false], [on, true]] as const) {
      const events = Array.from({ length: 10 }, (_, i) => attempt(ip(i)));
      const res = await postEvents(s.app, s.site, events);
      assert.equal(res.json().shield.up, expected);
    }
  } finally {
    await off.close();
    await on.close();
  }
});
