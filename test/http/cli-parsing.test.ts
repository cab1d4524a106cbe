// The command line as a person types it: strict options, whole reasons, help that
// exits 0, nothing an attacker wrote reaching the terminal raw, quiet pipes.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, ADMIN_TOKEN } from '../support/service.ts';
import { createStore } from '../../server/store/store.ts';
import { ROOT, runCli } from '../support/process.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN };
before(() => assert.equal(runCli(['migrate'], env).status, 0));
const db = () => new Database(join(tmp.dir, 'edgejail.db'));
const activeBans = (ipKey: string) => {
  const d = db();
  try {
    return d.prepare("SELECT * FROM bans WHERE ip_key = ? AND state = 'active'").all(ipKey) as Array<{ reason: string }>;
  } finally {
    d.close();
  }
};

test('an unknown option is refused with exit 2, named, and nothing is banned', () => {
  const r = runCli(['ban', '203.0.113.40', '--bogus', 'x', '--colour=red'], env);
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /unknown options --bogus, --colour/);
  assert.match(r.stderr, /edgejail ban --help/);
  assert.deepEqual(activeBans('203.0.113.40'), []);
});

test('the words after --reason are the reason; stray words elsewhere are an error', () => {
  const r = runCli(['ban', '203.0.113.41', '--reason', 'spotted', 'in', 'access', 'log', '--for', '2h'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(activeBans('203.0.113.41')[0]?.reason, 'spotted in access log');
  const stray = runCli(['unban', '203.0.113.41', 'please'], env);
  assert.equal(stray.status, 2);
  assert.match(stray.stderr, /unexpected argument "please"/);
  assert.equal(activeBans('203.0.113.41').length, 1, 'a refused command does nothing');
  const allow = runCli(['allow', '198.51.100.0/28', '--note', 'office', 'VPN'], env);
  assert.equal(allow.status, 0, allow.stderr);
  const d = db();
  assert.equal((d.prepare("SELECT note FROM allowlist WHERE cidr = '198.51.100.0/28'").get() as { note: string }).note, 'office VPN');
  d.close();
});

test('ban with no address says what is missing; a missing option value is named', () => {
  const r = runCli(['ban'], env);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing <ip>/);
  const noValue = runCli(['ban', '203.0.113.42', '--for'], env);
  assert.equal(noValue.status, 2);
  assert.match(noValue.stderr, /--for/);
  assert.deepEqual(activeBans('203.0.113.42'), []);
});

test('--version, --help, help and per-command help exit 0 on stdout', () => {
  const version = runCli(['--version'], env);
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^edgejail \d+\.\d+\.\d+\n$/);
  for (const args of [['--help'], ['help'], ['-h']]) {
    const r = runCli(args, env);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /site add <name>/);
    assert.match(r.stdout, /backup <file>/);
  }
  for (const args of [['ban', '--help'], ['help', 'ban']]) {
    const r = runCli(args, env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: edgejail ban <ip> \[options\]/);
    assert.match(r.stdout, /--for <duration>/);
    assert.match(r.stdout, /--reason <text>/);
  }
  const bare = runCli([], env);
  assert.equal(bare.status, 2, 'no command at all is a usage error');
  assert.match(bare.stderr, /usage: edgejail <command>/);
  const unknown = runCli(['bogus'], env);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "bogus"/);
});

test('attacker-chosen text is escaped in human output; JSON output parses to the same text', () => {
  const add = runCli(['site', 'add', 'escapes', '--json'], env);
  const site = JSON.parse(add.stdout) as { id: string };
  const username = '\x1b]0;pwned\x07\x1b[31madmin';
  const agent = 'Mozilla \u202egnp.exe\u202c \x9b31m \x7f';
  const at = new Date().toISOString();
  const d = db();
  // Through the store, as ingest writes it, which the per-address lookups read.
  createStore(d).insertEvent({
    id: randomUUID(), site_id: site.id, type: 'login_failed', ip: '203.0.113.66', ip_key: '203.0.113.66', username, user_agent: agent,
    path: '/wp-login.php\n203.0.113.1 forged row', weight: 1, occurred_at: at, received_at: at, ignored_reason: null,
  });
  d.close();

  const human = runCli(['history', '203.0.113.66'], env);
  assert.equal(human.status, 0, human.stderr);
  assert.doesNotMatch(human.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, 'no control character reaches the terminal');
  assert.ok(human.stdout.includes('\\x1b]0;pwned\\x07\\x1b[31madmin'), human.stdout);
  assert.ok(human.stdout.includes('\\u{202e}gnp.exe'), 'bidi overrides are shown, not obeyed');
  assert.ok(human.stdout.includes('/wp-login.php\\x0a203.0.113.1 forged row'), 'a newline in a value cannot forge a row');

  const json = runCli(['history', '203.0.113.66', '--json'], env);
  assert.doesNotMatch(json.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
  const parsed = JSON.parse(json.stdout) as { events: Array<{ username: string; user_agent: string }> };
  assert.equal(parsed.events[0]!.username, username);
  assert.equal(parsed.events[0]!.user_agent, agent);
});

test('`bans | head -3` ends quietly when head closes the pipe', () => {
  const d = db();
  const insert = d.prepare(`INSERT INTO bans (ip_key, jail, reason, ban_count, created_at, expires_at, state) VALUES (?, 'manual', 'bulk', 1, ?, ?, 'active')`);
  const now = Date.now();
  d.transaction(() => {
    for (let i = 0; i < 4000; i++) insert.run(`2001:db8:${i.toString(16)}::/64`, new Date(now).toISOString(), new Date(now + 3_600_000).toISOString());
  })();
  d.close();
  const script = 'node server/bin/edgejail.js bans | head -3 >/dev/null; echo "exit=${PIPESTATUS[0]}"';
  const r = spawnSync('bash', ['-c', script], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.stderr, '', 'no EPIPE stack trace');
  assert.equal(r.stdout.trim(), 'exit=0');
});

test('site names are unique, and site commands accept a name where they took an id', () => {
  const first = runCli(['site', 'add', 'my-blog', '--json'], env);
  assert.equal(first.status, 0, first.stderr);
  const site = JSON.parse(first.stdout) as { id: string; secret: string };
  const twin = runCli(['site', 'add', 'My-Blog'], env);
  assert.equal(twin.status, 1);
  assert.match(twin.stderr, /a site named "my-blog" exists already/);
  const rotated = runCli(['site', 'rotate-secret', 'my-blog', '--json'], env);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.equal(JSON.parse(rotated.stdout).id, site.id);
  const removed = runCli(['site', 'remove', 'my-blog'], env);
  assert.equal(removed.status, 0, removed.stderr);
  assert.match(removed.stdout, new RegExp(`removed site my-blog \\(${site.id}\\)`));
  const gone = runCli(['site', 'remove', 'my-blog'], env);
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /no site with the id or name "my-blog"/);
});

test('site add prints the whole wp-config.php block, EDGEJAIL_URL from public_url', () => {
  const configFile = join(tmp.dir, 'edgejail.yaml');
  writeFileSync(configFile, 'public_url: https://edgejail.example.com/\n');
  const r = runCli(['site', 'add', 'shop.example.com'], { ...env, EDGEJAIL_CONFIG: configFile });
  assert.equal(r.status, 0, r.stderr);
  const id = /^id\s+(\S+)$/m.exec(r.stdout)?.[1];
  const secret = /^secret\s+([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
  assert.ok(id && secret, r.stdout);
  const block = [
    "define( 'EDGEJAIL_URL', 'https://edgejail.example.com' );",
    `define( 'EDGEJAIL_SITE_ID', '${id}' );`,
    `define( 'EDGEJAIL_SECRET', '${secret}' );`,
  ].join('\n');
  assert.ok(r.stdout.includes(block), r.stdout);
  writeFileSync(configFile, 'public_url: ftp://edgejail.example.com\n');
  const bad = runCli(['site', 'list'], { ...env, EDGEJAIL_CONFIG: configFile });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /public_url: must be an http:\/\/ or https:\/\/ URL/);
});

test('purge asks for --yes before deleting events that retention still keeps', () => {
  const site = JSON.parse(runCli(['site', 'add', 'purge-me', '--json'], env).stdout) as { id: string };
  const d = db();
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  const insert = d.prepare(`INSERT INTO events (id, site_id, type, ip, ip_key, weight, occurred_at, received_at) VALUES (?, ?, 'login_failed', '192.0.2.77', '192.0.2.77', 1, ?, ?)`);
  for (let i = 0; i < 3; i++) insert.run(randomUUID(), site.id, hourAgo, hourAgo);
  d.close();
  const count = () => {
    const c = db();
    try {
      return (c.prepare("SELECT count(*) AS n FROM events WHERE ip = '192.0.2.77'").get() as { n: number }).n;
    } finally {
      c.close();
    }
  };
  const refused = runCli(['purge', '--older-than', '1m'], env);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /would also delete \d+ events? from the last 30d .* add --yes/);
  assert.equal(count(), 3, 'nothing deleted without --yes');
  const routine = runCli(['purge'], env);
  assert.equal(routine.status, 0, 'the routine purge needs no confirmation');
  assert.equal(count(), 3);
  const confirmed = runCli(['purge', '--older-than', '1m', '--yes'], env);
  assert.equal(confirmed.status, 0, confirmed.stderr);
  assert.equal(count(), 0);
});
