// The shipped fail2ban action (contrib/fail2ban/action.d/edgejail.conf) run by the real
// fail2ban-server against a real listening EdgeJail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.ts';
import { ADMIN_TOKEN, adminHeaders, tempDir, testConfig } from '../support/service.ts';
import { createFail2ban, ensureFail2ban, fail2banBans, waitFor, type Fail2ban } from './harness.ts';

const TIMEOUT = { timeout: 300_000 };
let app: FastifyInstance;
let f2b: Fail2ban;
let tmp: ReturnType<typeof tempDir>;

before(async () => {
  ensureFail2ban();
  tmp = tempDir('edgejail-f2b-');
  app = await buildApp(testConfig(join(tmp.dir, 'data')), {});
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const tokenfile = join(tmp.dir, 'admin-token');
  writeFileSync(tokenfile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  const action = `edgejail[url="http://127.0.0.1:${port}", tokenfile="${tokenfile}"]`;
  f2b = createFail2ban(join(tmp.dir, 'f2b'), [
    { name: 'wordpress-hard', action },
    { name: 'sshd', action, bantime: 7200 },
    { name: 'forever', action, bantime: -1 },
    { name: 'repeat', action, bantime: 5, extra: ['bantime.increment = true', 'bantime.factor = 1', 'bantime.formula = ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor'] },
  ]);
  await f2b.start();
}, TIMEOUT);

after(async () => {
  await f2b?.stop();
  await app?.close();
  tmp?.cleanup();
});

const activeBans = async (ip: string) => {
  const res = await app.inject({ method: 'GET', url: '/v1/bans', headers: adminHeaders });
  return (res.json().bans as Array<{ id: number; ip_key: string; jail: string; reason: string; created_at: string; expires_at: string; ban_count: number }>).filter((b) => b.ip_key === ip);
};
const auditOf = (ip: string) =>
  app.core.db.prepare('SELECT actor, action FROM audit_log WHERE ip_key = ? ORDER BY id').all(ip) as Array<{ actor: string; action: string }>;

test('fail2ban loads the shipped action and starts both jails with it', TIMEOUT, async () => {
  const status = await f2b.client('status');
  assert.match(status, /wordpress-hard/);
  assert.match(status, /sshd/);
  assert.doesNotMatch(f2b.serverLog(), /ERROR/, f2b.serverLog());
  assert.doesNotMatch(f2b.serverLog(), new RegExp(ADMIN_TOKEN), 'the token never reaches fail2ban\'s log');
});

test('two failure lines make an EdgeJail ban of jail fail2ban:<name>, with fail2ban\'s bantime', TIMEOUT, async () => {
  f2b.fail('wordpress-hard', '203.0.113.21');
  f2b.fail('wordpress-hard', '203.0.113.21');
  const [ban] = await waitFor(async () => {
    const bans = await activeBans('203.0.113.21');
    return bans.length ? bans : undefined;
  });
  assert.equal(ban!.jail, 'fail2ban:wordpress-hard');
  assert.match(ban!.reason, /wordpress-hard/);
  const seconds = (Date.parse(ban!.expires_at) - Date.now()) / 1000;
  // fail2ban's ban time is whole seconds, so banned_at may round up to 1 s past our clock.
  assert.ok(seconds > 3000 && seconds <= 3601, `expires in ${seconds}s`);
  assert.deepEqual(auditOf('203.0.113.21'), [{ actor: 'fail2ban:wordpress-hard', action: 'ban' }]);
  assert.equal(ban!.ban_count, 1, 'fail2ban\'s <bancount> of a first offence');
});

test('a repeat offender\'s ban carries fail2ban\'s <bancount> (bantime.increment): the second ban is offence 2, and longer', TIMEOUT, async () => {
  const ip = '203.0.113.25';
  f2b.fail('repeat', ip);
  f2b.fail('repeat', ip);
  const [first] = await waitFor(async () => {
    const bans = await activeBans(ip);
    return bans.length ? bans : undefined;
  });
  assert.equal(first!.ban_count, 1);
  // Its time runs out (a manual unbanip would also wipe fail2ban's count of it).
  await waitFor(async () => /Unban 203\.0\.113\.25/.test(f2b.serverLog()) && (await activeBans(ip)).length === 0);
  f2b.fail('repeat', ip);
  f2b.fail('repeat', ip);
  // Each ban is held to fail2ban's own record of it (timeofban + bantime), not timed from when
  // the action reached us: a busy machine delays that.
  const theirs = await waitFor(() => {
    const rows = fail2banBans(f2b).filter((r) => r.jail === 'repeat' && r.ip === ip);
    return rows.length >= 2 ? rows : undefined;
  });
  assert.ok(theirs[1]!.bantime > theirs[0]!.bantime, `fail2ban escalated the bantime: ${theirs.map((r) => r.bantime).join(' then ')} s`);
  const endsAtMs = (row: (typeof theirs)[number]) => (row.timeofban + row.bantime) * 1000;
  const endsWith = (ours: { expires_at: string }, row: (typeof theirs)[number]) => Math.abs(Date.parse(ours.expires_at) - endsAtMs(row)) <= 1000;
  assert.ok(endsWith(first!, theirs[0]!), `the first ban ends at ${first!.expires_at}, fail2ban's at ${new Date(endsAtMs(theirs[0]!)).toISOString()}`);
  // fail2ban's observer may work out the escalation only after actionban has run (and sent
  // the base bantime); actionprolong then sends the escalated one, and EdgeJail's ban follows.
  const [second] = await waitFor(async () => {
    const bans = await activeBans(ip);
    return bans.length && endsWith(bans[0]!, theirs[1]!) ? bans : undefined;
  });
  assert.equal(second!.jail, 'fail2ban:repeat');
  assert.equal(second!.ban_count, 2, 'fail2ban counted it its second offence, and so does EdgeJail');
});

test('fail2ban\'s bantime -1 becomes permanent_bantime (365 days by default, EdgeJail\'s cap)', TIMEOUT, async () => {
  f2b.fail('forever', '203.0.113.24');
  f2b.fail('forever', '203.0.113.24');
  const [ban] = await waitFor(async () => {
    const bans = await activeBans('203.0.113.24');
    return bans.length ? bans : undefined;
  });
  assert.equal(ban!.jail, 'fail2ban:forever');
  const days = (Date.parse(ban!.expires_at) - Date.now()) / 86_400_000;
  assert.ok(days > 364.9 && days <= 365.001, `expires in ${days} days`);
});

test('two jails ban one IP: two bans, one enforcement row; one jail\'s unbanip leaves the other\'s ban', TIMEOUT, async () => {
  const ip = '203.0.113.22';
  for (const jail of ['wordpress-hard', 'sshd']) {
    f2b.fail(jail, ip);
    f2b.fail(jail, ip);
  }
  await waitFor(async () => (await activeBans(ip)).length === 2);
  const enforced = () => app.core.db.prepare('SELECT state FROM cloudflare_enforcement WHERE ip_key = ?').all(ip) as Array<{ state: string }>;
  await waitFor(() => enforced()[0]?.state === 'dry_run');
  assert.equal(enforced().length, 1, 'one Cloudflare rule for the IP, whatever number of jails ban it');

  await f2b.client('set', 'sshd', 'unbanip', ip);
  await waitFor(async () => (await activeBans(ip)).length === 1);
  assert.deepEqual((await activeBans(ip)).map((b) => b.jail), ['fail2ban:wordpress-hard']);
  assert.ok(app.core.bans.currentBan(ip), 'the IP stays banned');
  assert.deepEqual(enforced(), [{ state: 'dry_run' }], 'and its rule stays');

  await f2b.client('set', 'wordpress-hard', 'unbanip', ip);
  await waitFor(async () => (await activeBans(ip)).length === 0);
  assert.equal(app.core.bans.currentBan(ip), null);
  await waitFor(() => enforced()[0]?.state === 'removed');
  assert.deepEqual(auditOf(ip).filter((a) => a.action === 'unban').map((a) => a.actor).sort(), ['fail2ban:sshd', 'fail2ban:wordpress-hard']);
});

test('fail2ban\'s restart neither unbans nor stacks: its re-bans from the database are idempotent', TIMEOUT, async () => {
  const ip = '203.0.113.23';
  f2b.fail('wordpress-hard', ip);
  f2b.fail('wordpress-hard', ip);
  const [before] = await waitFor(async () => {
    const bans = await activeBans(ip);
    return bans.length ? bans : undefined;
  });
  await f2b.stop();
  assert.equal((await activeBans(ip)).length, 1, 'fail2ban\'s stop (actionflush) lifts nothing');
  await f2b.start();
  // fail2ban re-bans it from its database on start ("Restore Ban").
  await waitFor(() => /Restore Ban 203\.0\.113\.23/.test(f2b.serverLog()));
  await waitFor(async () => /banned: 203\.0\.113\.23/i.test(await f2b.client('status', 'wordpress-hard')) || (await f2b.client('status', 'wordpress-hard')).includes(ip));
  const after = await activeBans(ip);
  assert.deepEqual(after.map((b) => [b.id, b.expires_at]), [[before!.id, before!.expires_at]], 'the same ban, ending when it always would have');
  assert.deepEqual(auditOf(ip).map((a) => a.action), ['ban']);
  assert.doesNotMatch(f2b.serverLog(), /ERROR/, f2b.serverLog());
});

test('a ban EdgeJail refuses (a protected address) fails the action: fail2ban logs it, never a silent success', TIMEOUT, async () => {
  f2b.fail('wordpress-hard', '10.0.0.7');
  f2b.fail('wordpress-hard', '10.0.0.7');
  await waitFor(() => /ERROR\s+Failed to execute ban jail 'wordpress-hard' action 'edgejail' info 'ActionInfo\(\{'ip': '10\.0\.0\.7'/.test(f2b.serverLog()));
  assert.equal(app.core.bans.currentBan('10.0.0.7'), null);
});
