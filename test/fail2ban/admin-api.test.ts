// The admin API's side of the fail2ban bridge: bans in a fail2ban jail, kept apart per jail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, startService } from '../support/service.ts';

let clock = Date.parse('2026-06-01T12:00:00Z');
let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService({}, { now: () => clock });
});
after(async () => svc.close());

const ban = (payload: Record<string, unknown>) => svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload });
const unban = (ip: string, query = '') => svc.app.inject({ method: 'DELETE', url: `/v1/bans/${ip}${query}`, headers: adminHeaders });

test('a fail2ban jail\'s ban is its own: apart from the manual ban, audited as that jail', async () => {
  const a = await ban({ ip: '198.51.100.31', duration: 600, jail: 'fail2ban:sshd', reason: 'fail2ban jail sshd: 5 failures' });
  assert.equal(a.statusCode, 201, a.body);
  assert.equal(a.json().ban.jail, 'fail2ban:sshd');
  const manual = await ban({ ip: '198.51.100.31', duration: 60 });
  assert.equal(manual.statusCode, 201, 'a manual ban is not folded into the fail2ban one');
  const audit = svc.app.core.db.prepare("SELECT actor FROM audit_log WHERE ip_key = ? AND action = 'ban' ORDER BY id").all('198.51.100.31');
  assert.deepEqual(audit, [{ actor: 'fail2ban:sshd' }, { actor: 'admin:api' }]);
});

test('banned_at: the ban ends banned_at + duration; the same ban re-sent changes nothing', async () => {
  const bannedAt = clock / 1000 - 100;
  const first = await ban({ ip: '198.51.100.32', duration: 600, banned_at: bannedAt, jail: 'fail2ban:wordpress-hard' });
  assert.equal(first.statusCode, 201, first.body);
  assert.equal(first.json().ban.expires_at, new Date(clock + 500_000).toISOString());
  clock += 30_000;
  const again = await ban({ ip: '198.51.100.32', duration: 600, banned_at: bannedAt, jail: 'fail2ban:wordpress-hard' });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().outcome, 'already_longer');
  assert.equal(again.json().ban.id, first.json().ban.id);
  const ended = await ban({ ip: '198.51.100.32', duration: 60, banned_at: bannedAt, jail: 'fail2ban:sshd' });
  assert.equal(ended.statusCode, 409, ended.body);
  assert.equal(ended.json().error, 'ban_already_ended');
});

test('unban with ?jail= lifts that jail\'s ban only; 404 names the jail when it has none', async () => {
  for (const jail of ['fail2ban:sshd', 'fail2ban:wordpress-hard']) assert.equal((await ban({ ip: '198.51.100.33', duration: 600, jail })).statusCode, 201);
  const one = await unban('198.51.100.33', '?jail=fail2ban:sshd');
  assert.equal(one.statusCode, 200, one.body);
  assert.equal(one.json().lifted, 1);
  assert.ok(svc.app.core.bans.currentBan('198.51.100.33'), 'the other jail\'s ban stands');
  const again = await unban('198.51.100.33', '?jail=fail2ban:sshd');
  assert.equal(again.statusCode, 404);
  assert.match(again.json().message, /fail2ban:sshd/);
  const audit = svc.app.core.db.prepare("SELECT actor FROM audit_log WHERE ip_key = ? AND action = 'unban'").all('198.51.100.33');
  assert.deepEqual(audit, [{ actor: 'fail2ban:sshd' }]);
});

test('a jail that is not fail2ban:<name>, or a bad banned_at, is a 400 naming the field', async () => {
  for (const jail of ['wordpress', 'fail2ban:', 'fail2ban:a b', 'fail2ban:x"y', 'manual']) {
    const res = await ban({ ip: '198.51.100.34', duration: 60, jail });
    assert.equal(res.statusCode, 400, jail);
    assert.match(res.json().message, /jail/, jail);
  }
  const bad = await ban({ ip: '198.51.100.34', duration: 60, banned_at: 'yesterday' });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /banned_at/);
  const q = await unban('198.51.100.34', '?jail=sshd');
  assert.equal(q.statusCode, 400);
  assert.equal(q.json().error, 'invalid_query');
});

test('ban_count (fail2ban\'s <bancount>) is kept with a fail2ban jail\'s ban; without a jail, or not a count, it is a 400', async () => {
  const third = await ban({ ip: '198.51.100.35', duration: 600, jail: 'fail2ban:wordpress-hard', ban_count: 3 });
  assert.equal(third.statusCode, 201, third.body);
  assert.equal(third.json().ban.ban_count, 3);
  const audit = svc.app.core.db.prepare("SELECT json_extract(detail, '$.ban_count') AS n FROM audit_log WHERE ip_key = ? AND action = 'ban'").get('198.51.100.35') as { n: number };
  assert.equal(audit.n, 3);
  for (const [payload, why] of [
    [{ ip: '198.51.100.36', duration: 60, ban_count: 2 }, /ban_count.*send it with jail/],
    [{ ip: '198.51.100.36', duration: 60, jail: 'fail2ban:sshd', ban_count: 0 }, /ban_count: must be 1 or more/],
    [{ ip: '198.51.100.36', duration: 60, jail: 'fail2ban:sshd', ban_count: 1.5 }, /ban_count: must be a whole number/],
  ] as const) {
    const res = await ban(payload);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json().message, why);
  }
});
