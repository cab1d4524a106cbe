// One site's secret must not grow the service without bound: weights are capped in the
// contract, each site may cause a quota of new bans a minute, and active bans have a
// global cap. Refusals are audited (without secrets), counted, and never a 5xx.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { addSite, adminHeaders, attempt, signedHeaders, startService, type TestSite } from '../support/service.ts';

const QUOTA = 50;
const CAP = 120;
const KEYS_PER_ROUND = 300;

let clock = Date.now() - 600_000;
let svc: Awaited<ReturnType<typeof startService>>;
let other: TestSite;
before(async () => {
  svc = await startService({ overload: { max_new_bans_per_site_per_minute: QUOTA, max_active_bans: CAP } }, { now: () => clock });
  other = addSite(svc.app, 'other-site');
});
after(async () => svc.close());

/** Posts as the plugin does: a 429 (shed on a loaded machine, nothing stored) is sent again. */
async function post(site: TestSite, events: unknown[]) {
  const body = JSON.stringify({ events });
  for (let attempt = 0; ; attempt++) {
    const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clock / 1000)), payload: body });
    if (res.statusCode !== 429 || attempt === 50) return res;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let keyCounter = 0;
/** A multicall from a new IPv6 /64 each time: every event alone reaches wordpress's maxretry. */
const floodEvent = (weight: number) =>
  attempt(`2001:db8:${(++keyCounter).toString(16)}::1`, { type: 'xmlrpc_multicall', weight, path: '/xmlrpc.php', occurred_at: new Date(clock).toISOString() });

async function flood(site: TestSite, keys: number) {
  const statuses: number[] = [];
  for (let sent = 0; sent < keys; sent += 100) {
    const res = await post(site, Array.from({ length: Math.min(100, keys - sent) }, () => floodEvent(5_000)));
    statuses.push(res.statusCode);
  }
  return statuses;
}

const activeBans = () => (svc.app.core.db.prepare("SELECT count(*) AS n FROM bans WHERE state = 'active'").get() as { n: number }).n;
const refusedMetric = async () => {
  const text = (await svc.app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders })).body;
  return Object.fromEntries([...text.matchAll(/^edgejail_bans_refused_total\{cause="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
};

test('a weight above the contract cap of 5,000 is a 400 naming the field', async () => {
  const res = await post(svc.site, [attempt('203.0.113.70', { type: 'xmlrpc_multicall', weight: 10_000, occurred_at: new Date(clock).toISOString() })]);
  assert.equal(res.statusCode, 400, res.body);
  assert.match(res.json().message, /^events\[0\]\.weight: must be at most 5000/);
  assert.equal(activeBans(), 0);
});

test('a flood of new /64s from one site is held to its quota per minute, then to the global cap', async () => {
  // Minute 1: the flooding site gets its quota, the rest is refused.
  assert.deepEqual(await flood(svc.site, KEYS_PER_ROUND), [200, 200, 200]);
  assert.equal(activeBans(), QUOTA);
  assert.deepEqual(await refusedMetric(), { site_quota: KEYS_PER_ROUND - QUOTA });

  // The other site is unaffected: its attacker is banned at once.
  const own = await post(other, Array.from({ length: 5 }, () => attempt('198.51.100.30', { occurred_at: new Date(clock).toISOString() })));
  assert.equal(own.statusCode, 200);
  assert.equal(own.json().decisions[0]?.jail, 'wordpress');
  assert.equal(activeBans(), QUOTA + 1);

  // Minutes 2 and 3: another quota each, until the global cap.
  clock += 61_000;
  await flood(svc.site, KEYS_PER_ROUND);
  assert.equal(activeBans(), 2 * QUOTA + 1);
  clock += 61_000;
  const statuses = await flood(svc.site, KEYS_PER_ROUND);
  assert.deepEqual(statuses, [200, 200, 200], 'refusals are never a 5xx');
  assert.equal(activeBans(), CAP);
  assert.equal(svc.app.core.bans.activeCount(), CAP);

  // At the cap the other site's new ban is refused too, but its requests still succeed.
  const capped = await post(other, Array.from({ length: 5 }, () => attempt('198.51.100.31', { occurred_at: new Date(clock).toISOString() })));
  assert.equal(capped.statusCode, 200);
  assert.deepEqual(capped.json().decisions, []);
  const metric = await refusedMetric();
  assert.equal((metric.site_quota ?? 0) + (metric.active_ban_cap ?? 0), 3 * KEYS_PER_ROUND - (CAP - 1) + 1);
  assert.ok(metric.active_ban_cap! > 0);

  // Audited: one entry per site, cause and minute, naming the limit, never the secret.
  const refusals = svc.app.core.db.prepare("SELECT actor, site_id, detail FROM audit_log WHERE action = 'ban_refused' ORDER BY id").all() as Array<{ actor: string; site_id: string; detail: string }>;
  assert.ok(refusals.length >= 4 && refusals.length <= 8, `${refusals.length} audit entries`);
  for (const row of refusals) {
    assert.equal(row.actor, 'jail:wordpress');
    assert.ok(!row.detail.includes(svc.site.secret) && !row.detail.includes(other.secret), 'no secret in the audit log');
  }
  const causes = refusals.map((row) => JSON.parse(row.detail) as { cause: string; limit: number; message: string });
  assert.deepEqual(causes[0], { ...causes[0], cause: 'site_quota', limit: QUOTA });
  assert.match(causes[0]!.message, /overload\.max_new_bans_per_site_per_minute/);
  assert.ok(causes.some((c) => c.cause === 'active_ban_cap' && c.limit === CAP && /overload\.max_active_bans/.test(c.message)));
  assert.ok(refusals.some((row) => row.site_id === other.id));
});

test('state stays bounded however many keys flood in', async () => {
  const state = svc.app.core.jails;
  assert.ok(state.bans.size <= state.maxBanKeys, `${state.bans.size} remembered ban keys`);
  assert.ok(svc.app.core.bans.cachedLookups() <= 10_000);
  // Every refused key is still remembered by its window, within the jail's cap.
  const wordpress = state.jails.find((jail) => jail.name === 'wordpress')!;
  assert.ok(wordpress.windows.size <= svc.config.overload.max_tracked_keys_per_jail);
  for (const key of wordpress.windows.keys()) assert.ok(wordpress.windows.count(wordpress.windows.get(key)) <= 5, 'a refused key keeps just enough to ban it later');
});

test('a refused key is banned on its next event once the quota allows', async () => {
  // Back under the cap: lift the flood's bans as an admin would.
  for (const ban of svc.app.core.store.activeBans()) svc.app.core.bans.unban(ban.ip_key, 'admin:api');
  clock += 61_000;
  const res = await post(svc.site, [floodEvent(1)].map((e) => ({ ...e, id: randomUUID() })));
  assert.equal(res.statusCode, 200);
  // One failure from a new key is not a ban; one more multicall from a refused key is.
  assert.deepEqual(res.json().decisions, []);
  const refusedKey = svc.app.core.db.prepare("SELECT ip FROM events WHERE type = 'xmlrpc_multicall' ORDER BY seq DESC LIMIT 1 OFFSET 5").get() as { ip: string };
  const again = await post(svc.site, [attempt(refusedKey.ip, { type: 'xmlrpc_login_failed', occurred_at: new Date(clock).toISOString() })]);
  assert.equal(again.json().decisions[0]?.jail, 'wordpress', again.body);
});
