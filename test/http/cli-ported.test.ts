// The commands main added to the old CLI, as the new command modules run them: strict
// options, their own help, one answer to "is this IP bannable and what is its key".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir, ADMIN_TOKEN } from '../support/service.ts';
import { runCli } from '../support/process.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN };

test('bans shows where each active ban is placed', () => {
  assert.equal(runCli(['ban', '203.0.113.50', '--for', '1h'], env).status, 0);
  const [ban] = JSON.parse(runCli(['bans', '--json'], env).stdout);
  assert.equal(ban.placement, 'pending', 'no service has placed it yet');
  assert.match(runCli(['bans'], env).stdout, /^id\s+ip_key\s+jail\s+state\s+expires_at\s+cloudflare\s+placement\s+reason$/m);
  const lifted = JSON.parse(runCli(['bans', '--all', '--json'], env).stdout);
  assert.equal(runCli(['unban', '203.0.113.50'], env).status, 0);
  assert.equal(JSON.parse(runCli(['bans', '--all', '--json'], env).stdout).find((b: { id: number }) => b.id === lifted[0].id).placement, null, 'a lifted ban is placed nowhere');
});

test('an IPv6 neighbour of an allowlisted address is banned alone, and a banned prefix can be named to unban it', () => {
  assert.equal(runCli(['allow', '2001:db8:1::1'], env).status, 0);
  const near = runCli(['ban', '2001:db8:1::2'], env);
  assert.equal(near.status, 0, near.stderr);
  assert.doesNotMatch(near.stdout, /2001:db8:1::\/64/, 'the /64 holds an allowlisted address: never its key');
  assert.equal(runCli(['unban', '2001:db8:1::2'], env).status, 0);

  assert.equal(runCli(['ban', '2001:db8:2::9'], env).status, 0);
  assert.match(JSON.parse(runCli(['history', '2001:db8:2::/64', '--json'], env).stdout).ip_key, /^2001:db8:2::\/64$/);
  const unban = runCli(['unban', '2001:db8:2::/64'], env);
  assert.equal(unban.status, 0, unban.stderr);
  assert.match(unban.stdout, /^unbanned 2001:db8:2::\/64 /);
  const bad = runCli(['unban', 'not-an-ip'], env);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /"not-an-ip" is not an IP address or banned prefix/);
});

test('shield, site set and allowlist refuse unknown options and stray words, and have their own help', () => {
  for (const args of [['shield', 'up', 'shop', '--force'], ['shield', 'status', 'extra'], ['site', 'set', 'x', '--zones', 'y'], ['allowlist', '198.51.100.1'], ['allow', '198.51.100.1', '--forced']]) {
    const r = runCli(args, env);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /unknown option|unexpected argument/, args.join(' '));
  }
  for (const [args, option] of [[['shield', 'up', '--help'], '--for <duration>'], [['site', 'set', '--help'], '--zone <zone id>'], [['site', 'add', '--help'], '--host <hostname>'], [['allow', '--help'], '--force']] as const) {
    const r = runCli([...args], env);
    assert.equal(r.status, 0, args.join(' '));
    assert.ok(r.stdout.includes(option), `${args.join(' ')} lists ${option}`);
  }
});

test('site names and reasons reach the terminal inert', () => {
  const site = JSON.parse(runCli(['site', 'add', 'inert', '--json'], env).stdout);
  const up = runCli(['shield', 'up', site.id, '--reason', 'evil\u001b]0;pwned\u0007 here'], env);
  assert.equal(up.status, 0, up.stderr);
  assert.ok(!up.stdout.includes('\u001b') && !up.stdout.includes('\u0007'), 'no raw control byte');
  assert.match(up.stdout, /evil\\x1b\]0;pwned\\x07 here/);
  const status = runCli(['shield', 'status'], env);
  assert.ok(!status.stdout.includes('\u001b'), 'status escapes the reason too');
});
