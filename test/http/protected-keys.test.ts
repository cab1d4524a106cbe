// A ban key never reaches an address EdgeJail promises not to ban: an IPv6 /64 around an
// allowlisted or never-ban address is narrowed to the attacker's own address, and the
// protected address never receives a neighbour's ban in its decisions.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { adminHeaders, attempt, postEvents, startService } from '../support/service.ts';

const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk));
    done();
  },
});

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService({ allowlist: ['2001:db8:1:2::5'] }, { logger: { level: 'warn', stream: logStream } });
});
after(async () => svc.close());

const five = (ip: string) => Array.from({ length: 5 }, () => attempt(ip));
const eventRow = (ip: string) =>
  svc.app.core.db.prepare('SELECT ip_key, ignored_reason FROM events WHERE ip = ? ORDER BY seq DESC LIMIT 1').get(ip) as { ip_key: string; ignored_reason: string | null };

test('an attacker in the /64 of an allowlisted address is banned alone, and the allowlisted address gets no ban', async () => {
  const attack = await postEvents(svc.app, svc.site, five('2001:db8:1:2::7'));
  assert.deepEqual(attack.json().decisions.map((d: { ip_key: string }) => d.ip_key), ['2001:db8:1:2::7']);

  const owner = await postEvents(svc.app, svc.site, [attempt('2001:db8:1:2::5')]);
  assert.deepEqual(owner.json().decisions, [], 'the allowlisted address must not be told it is banned');
  assert.deepEqual(eventRow('2001:db8:1:2::5'), { ip_key: '2001:db8:1:2::5', ignored_reason: 'allowlist' });

  const active = svc.app.core.store.activeBans().map((b) => b.ip_key);
  assert.ok(!active.includes('2001:db8:1:2::/64'), `no /64 ban may hold the allowlisted address: ${active.join(', ')}`);
});

test('other /64s are still banned whole', async () => {
  const res = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, (_, i) => attempt(`2001:db8:7:7::${i + 1}`)));
  assert.deepEqual(res.json().decisions.map((d: { ip_key: string }) => d.ip_key), ['2001:db8:7:7::/64']);
});

test('::2 and ::127.0.0.1 are never banned, and nothing in ::/64 is keyed as ::/64 (it holds ::1 and ::)', async () => {
  for (const ip of ['::2', '::127.0.0.1']) {
    const res = await postEvents(svc.app, svc.site, Array.from({ length: 10 }, () => attempt(ip)));
    assert.deepEqual(res.json().decisions, [], ip);
    assert.equal(eventRow(ip === '::127.0.0.1' ? '::7f00:1' : ip).ignored_reason, 'never_ban:ipv4_compatible', ip);
    const manual = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip } });
    assert.equal(manual.statusCode, 422, manual.body);
    assert.equal(manual.json().error, 'ip_not_bannable');
  }
  // In ::/64 but outside ::/96: bannable, as itself only.
  const res = await postEvents(svc.app, svc.site, five('::1:0:0:2'));
  assert.deepEqual(res.json().decisions.map((d: { ip_key: string }) => d.ip_key), ['::1:0:0:2']);
  const manual = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '::1:0:0:3' } });
  assert.equal(manual.statusCode, 201, manual.body);
  assert.equal(manual.json().ban.ip_key, '::1:0:0:3');
  assert.ok(!svc.app.core.store.activeBans().some((b) => b.ip_key === '::/64'));
});

test('NAT64, multicast, reserved, broadcast and carrier-grade NAT addresses are never banned', async () => {
  const cases: Array<[ip: string, reason: string]> = [
    ['64:ff9b::c000:221', 'never_ban:nat64'],
    ['ff02::1', 'never_ban:multicast'],
    ['224.0.0.251', 'never_ban:multicast'],
    ['240.1.2.3', 'never_ban:reserved'],
    ['255.255.255.255', 'never_ban:broadcast'],
    ['100.64.1.1', 'never_ban:carrier_nat'],
    ['100.127.255.254', 'never_ban:carrier_nat'],
  ];
  for (const [ip, reason] of cases) {
    const res = await postEvents(svc.app, svc.site, Array.from({ length: 10 }, () => attempt(ip)));
    assert.deepEqual(res.json().decisions, [], ip);
    assert.equal(eventRow(ip).ignored_reason, reason, ip);
  }
  // Just outside 100.64.0.0/10 is a public address again.
  const outside = await postEvents(svc.app, svc.site, five('100.128.0.1'));
  assert.equal(outside.json().decisions[0]?.ip_key, '100.128.0.1');
});

test('carrier-grade NAT sources are logged as a misconfigured proxy, once per site, not once per event', async () => {
  const warnings = () => logLines.filter((l) => l.includes('carrier-nat') && l.includes(svc.site.id));
  await postEvents(svc.app, svc.site, Array.from({ length: 3 }, () => attempt('100.64.9.9')));
  await postEvents(svc.app, svc.site, Array.from({ length: 3 }, () => attempt('100.64.9.10')));
  assert.equal(warnings().length, 1, logLines.join(''));
  assert.match(warnings()[0]!, /proxy/);
});

test('an unban or lookup by a network key never fails with a 5xx', async () => {
  for (const key of ['2001:db8::/0', '10.0.0.0/8', '2001:db8:1:2::/64']) {
    const res = await svc.app.inject({ method: 'DELETE', url: `/v1/bans/${encodeURIComponent(key)}`, headers: adminHeaders });
    assert.equal(res.statusCode, 404, `${key}: ${res.body}`);
  }
  const bad = await svc.app.inject({ method: 'GET', url: `/v1/ips/${encodeURIComponent('2001:db8::/129')}`, headers: adminHeaders });
  assert.equal(bad.statusCode, 400);
});
