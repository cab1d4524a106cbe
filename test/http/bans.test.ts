import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, attempt, postEvents, startService } from '../support/service.ts';

let clock = Date.now();
let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService({}, { now: () => clock });
});
after(async () => svc.close());

test('five failed logins ban the IP, answered in the same response and recorded with its reason', async () => {
  const four = await postEvents(svc.app, svc.site, Array.from({ length: 4 }, () => attempt('203.0.113.50')));
  assert.deepEqual(four.json().decisions, []);
  const fifth = await postEvents(svc.app, svc.site, [attempt('203.0.113.50')]);
  const [decision] = fifth.json().decisions;
  assert.equal(decision.ip, '203.0.113.50');
  assert.equal(decision.jail, 'wordpress');
  assert.equal(Date.parse(decision.banned_until) - clock, 3600_000);

  const bans = await svc.app.inject({ method: 'GET', url: '/v1/bans', headers: adminHeaders });
  const ban = bans.json().bans.find((b: { ip_key: string }) => b.ip_key === '203.0.113.50');
  assert.equal(ban.jail, 'wordpress');
  assert.equal(JSON.parse(ban.trigger_event_ids).length, 5);
  assert.equal(ban.cloudflare, 'dry_run');

  const audit = svc.app.core.db.prepare("SELECT actor, action FROM audit_log WHERE ip_key = ? AND action = 'ban'").all('203.0.113.50');
  assert.deepEqual(audit, [{ actor: 'jail:wordpress', action: 'ban' }]);
});

test('a blocked username bans at once; an XML-RPC multicall of 100 passwords bans from one request', async () => {
  const blocked = await postEvents(svc.app, svc.site, [attempt('203.0.113.51', { type: 'blocked_username', username: 'admin' })]);
  assert.equal(blocked.json().decisions[0].jail, 'blocked_username');
  const multicall = await postEvents(svc.app, svc.site, [attempt('203.0.113.52', { type: 'xmlrpc_multicall', weight: 100, path: '/xmlrpc.php' })]);
  assert.equal(multicall.json().decisions[0].jail, 'wordpress');
});

test('loopback, private and Cloudflare addresses are stored but never counted', async () => {
  for (const ip of ['127.0.0.1', '10.1.2.3', '173.245.48.10', '::1']) {
    const res = await postEvents(svc.app, svc.site, Array.from({ length: 10 }, () => attempt(ip)));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().decisions, [], ip);
    const row = svc.app.core.db.prepare('SELECT ignored_reason FROM events WHERE ip = ? LIMIT 1').get(ip) as { ignored_reason: string };
    assert.match(row.ignored_reason, /^never_ban/, ip);
  }
});

test('IPv6 addresses in one /64 are one attacker', async () => {
  const res = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, (_, i) => attempt(`2001:db8:1:2::${i + 1}`)));
  assert.equal(res.json().decisions[0]?.ip_key, '2001:db8:1:2::/64');
});

test('manual ban, extend, history and unban through the admin API', async () => {
  const ban = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '198.51.100.77', duration: '2h', reason: 'seen in another log' } });
  assert.equal(ban.statusCode, 201, ban.body);
  assert.equal(Date.parse(ban.json().ban.expires_at) - clock, 7200_000);
  const extend = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '198.51.100.77', duration: '1d' } });
  assert.equal(extend.statusCode, 200);
  assert.equal(extend.json().extended, true);

  const history = await svc.app.inject({ method: 'GET', url: '/v1/ips/198.51.100.77', headers: adminHeaders });
  assert.equal(history.statusCode, 200);
  assert.deepEqual(history.json().audit.map((a: { action: string }) => a.action).sort(), ['ban', 'extend']);

  const unban = await svc.app.inject({ method: 'DELETE', url: '/v1/bans/198.51.100.77', headers: adminHeaders });
  assert.equal(unban.statusCode, 200);
  const again = await svc.app.inject({ method: 'DELETE', url: '/v1/bans/198.51.100.77', headers: adminHeaders });
  assert.equal(again.statusCode, 404);
  assert.equal(again.json().error, 'not_banned');
});

test('admin input errors are 4xx naming the problem', async () => {
  const badIp = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: 'nope' } });
  assert.equal(badIp.statusCode, 400);
  assert.match(badIp.json().message, /^ip: /);
  const badDuration = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '198.51.100.78', duration: 'soon' } });
  assert.equal(badDuration.statusCode, 400);
  assert.match(badDuration.json().message, /^duration: /);
  const protectedIp = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '127.0.0.1' } });
  assert.equal(protectedIp.statusCode, 422);
  const badParam = await svc.app.inject({ method: 'GET', url: '/v1/ips/not-an-ip', headers: adminHeaders });
  assert.equal(badParam.statusCode, 400);
});

test('bans are lifted when they expire, and the audit log says so', async () => {
  const res = await postEvents(svc.app, svc.site, [attempt('203.0.113.60', { type: 'blocked_username' })]);
  const until = Date.parse(res.json().decisions[0].banned_until);
  const stateOf = () => ({ ...(svc.app.core.db.prepare("SELECT state, lifted_by FROM bans WHERE ip_key = '203.0.113.60'").get() as object) });
  const realNow = clock;
  try {
    clock = until - 1;
    svc.app.core.bans.liftExpired();
    assert.deepEqual(stateOf(), { state: 'active', lifted_by: null });
    clock = until;
    assert.ok(svc.app.core.bans.liftExpired() >= 1);
    assert.deepEqual(stateOf(), { state: 'lifted', lifted_by: 'expiry' });
    assert.equal(svc.app.core.bans.currentBan('203.0.113.60'), null);
  } finally {
    clock = realNow;
  }
});

test('an allowlisted range is stored but never banned', async () => {
  const add = await svc.app.inject({ method: 'POST', url: '/v1/allowlist', headers: adminHeaders, payload: { cidr: '192.0.2.128/25', note: 'office' } });
  assert.equal(add.statusCode, 201);
  const res = await postEvents(svc.app, svc.site, Array.from({ length: 6 }, () => attempt('192.0.2.200')));
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().decisions, []);
  const row = svc.app.core.db.prepare("SELECT ignored_reason FROM events WHERE ip = '192.0.2.200' LIMIT 1").get() as { ignored_reason: string };
  assert.equal(row.ignored_reason, 'allowlist');
});

test('/metrics speaks Prometheus and /healthz answers without a token', async () => {
  const metrics = await svc.app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders });
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.body, /^edgejail_events_accepted_total\{type="login_failed",site="[^"]+"\} \d+$/m);
  assert.match(metrics.body, /^edgejail_bans_active \d+$/m);
  assert.ok(!metrics.body.includes(svc.site.secret));
  const health = await svc.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.json().status, 'ok');
});
