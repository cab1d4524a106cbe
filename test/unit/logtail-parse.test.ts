// The log-line parsers of `edgejail tail`: table-driven, one row per kind of line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { CidrSet } from '../../server/jail/ip.ts';
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from '../../server/jail/never-ban.ts';
import { eventSchema } from '../../server/contract/events.ts';
import { lineEventId, parseLine, type LogFormat, type ParsedLine } from '../../server/logtail/parse.ts';
import { toAttemptEvent } from '../../server/logtail/tail.ts';

const cloudflare = new CidrSet([...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]);
const ctx = { isCloudflare: (ip: string) => cloudflare.contains(ip), nowMs: Date.parse('2026-12-02T06:00:00Z') };
const T = Date.parse('2026-12-02T05:50:01Z');
const UA = '"-" "Mozilla/5.0 (X11)"';

const event = (type: string, ip: string, extra: Record<string, unknown> = {}) => ({ kind: 'event', type, ip, ...extra });

const ROWS: Array<[string, LogFormat, string, ReturnType<typeof event> | { kind: 'ignored' } | { kind: 'unparsed' }]> = [
  ['failed login (200)', 'nginx', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 4521 ${UA}`, event('login_failed', '203.0.113.5', { occurredAtMs: T, userAgent: 'Mozilla/5.0 (X11)' })],
  ['successful login (302)', 'nginx', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 302 0 ${UA}`, event('login_succeeded', '203.0.113.5')],
  ['time zone offset', 'apache', `203.0.113.5 - - [02/Dec/2026:06:50:01 +0100] "POST /wp-login.php HTTP/1.1" 200 4521 ${UA}`, event('login_failed', '203.0.113.5', { occurredAtMs: T })],
  ['login in a subfolder, with a query', 'nginx', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /blog/wp-login.php?redirect_to=x HTTP/1.1" 200 1 ${UA}`, event('login_failed', '203.0.113.5')],
  ['lost password is no login', 'nginx', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php?action=lostpassword HTTP/1.1" 200 1 ${UA}`, { kind: 'ignored' }],
  ['GET of the form', 'nginx', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "GET /wp-login.php HTTP/1.1" 200 1 ${UA}`, { kind: 'ignored' }],
  ['xmlrpc: weight 1', 'nginx', `203.0.113.6 - - [02/Dec/2026:05:50:01 +0000] "POST /xmlrpc.php HTTP/1.1" 200 370 ${UA}`, event('xmlrpc_login_failed', '203.0.113.6', { weight: 1 })],
  ['CF-Connecting-IP from a Cloudflare peer', 'nginx', `173.245.48.10 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA} "198.51.100.7"`, event('login_failed', '198.51.100.7')],
  ['CF-Connecting-IP from anyone else is ignored', 'nginx', `203.0.113.9 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA} "198.51.100.7"`, event('login_failed', '203.0.113.9')],
  ['CF-Connecting-IP absent ("-")', 'nginx', `173.245.48.10 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA} "-"`, event('login_failed', '173.245.48.10')],
  ['IPv6 client via Cloudflare', 'nginx', `2400:cb00::1 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA} "2001:DB8::5"`, event('login_failed', '2001:db8::5')],
  ['common format (no referer, agent)', 'apache', '203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 -', event('login_failed', '203.0.113.5', { userAgent: null })],
  ['escaped quote in the agent', 'nginx', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 "-" "a\\"b"`, event('login_failed', '203.0.113.5', { userAgent: 'a"b' })],
  ['garbage', 'nginx', 'hello world', { kind: 'unparsed' }],
  ['bad peer address', 'nginx', `999.1.1.1 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA}`, { kind: 'unparsed' }],
  ['bad month', 'nginx', `203.0.113.5 - - [02/Foo/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA}`, { kind: 'unparsed' }],
  ['WP fail2ban: failed login', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Authentication failure for admin from 203.0.113.5', event('login_failed', '203.0.113.5', { username: 'admin', occurredAtMs: T })],
  ['WP fail2ban: unknown user', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Authentication attempt for unknown user bob from 203.0.113.5', event('login_failed', '203.0.113.5', { username: 'bob' })],
  ['WP fail2ban: user enumeration', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Blocked user enumeration attempt from 203.0.113.5', event('user_enumeration', '203.0.113.5', { username: null })],
  ['WP fail2ban: blocked username', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Blocked authentication attempt for admin from 203.0.113.5', event('blocked_username', '203.0.113.5', { username: 'admin' })],
  ['WP fail2ban: pingback error', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Pingback error 48 generated from 203.0.113.5', event('pingback', '203.0.113.5')],
  ['WP fail2ban: multicall', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: XML-RPC multicall authentication failure from 203.0.113.5', event('xmlrpc_multicall', '203.0.113.5')],
  ['WP fail2ban: accepted password', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Accepted password for alice from 203.0.113.5', event('login_succeeded', '203.0.113.5', { username: 'alice' })],
  ['WP fail2ban: RFC 3339 stamp', 'wp-fail2ban', '2026-12-02T06:50:01.123+01:00 web1 wordpress(example.com)[1234]: Authentication failure for admin from 203.0.113.5', event('login_failed', '203.0.113.5', { occurredAtMs: T + 123 })],
  ['WP fail2ban: last year\'s December read in January', 'wp-fail2ban', 'Dec 31 23:59:59 web1 wordpress[1]: Authentication failure for admin from 203.0.113.5', event('login_failed', '203.0.113.5', { occurredAtMs: Date.parse('2025-12-31T23:59:59Z') })],
  ['WP fail2ban: other message', 'wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Comment 5 from 203.0.113.5', { kind: 'ignored' }],
  ['WP fail2ban: another program', 'wp-fail2ban', 'Dec  2 05:50:01 web1 sshd[1234]: Failed password for root from 203.0.113.5 port 22', { kind: 'unparsed' }],
  ['auto: syslog', 'auto', 'Dec  2 05:50:01 web1 wordpress(example.com)[1234]: Authentication failure for admin from 203.0.113.5', event('login_failed', '203.0.113.5')],
  ['auto: access log', 'auto', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /xmlrpc.php HTTP/1.1" 200 1 ${UA}`, event('xmlrpc_login_failed', '203.0.113.5')],
];

for (const [name, format, line, want] of ROWS) {
  test(`${format}: ${name}`, () => {
    const nowMs = name.includes('January') ? Date.parse('2026-01-01T00:10:00Z') : ctx.nowMs;
    const got: ParsedLine = parseLine(line, format, { ...ctx, nowMs });
    assert.equal(got.kind, want.kind, JSON.stringify(got));
    if (got.kind === 'event' && want.kind === 'event') {
      const { kind: _kind, ...fields } = want;
      for (const [key, value] of Object.entries(fields)) assert.deepEqual((got.event as unknown as Record<string, unknown>)[key], value, key);
    }
  });
}

test('line event ids are stable per file and offset, distinct otherwise, and valid event UUIDs', () => {
  assert.equal(lineEventId('dev:ino', 10, 'a'), lineEventId('dev:ino', 10, 'a'));
  assert.notEqual(lineEventId('dev:ino', 10, 'a'), lineEventId('dev:ino', 11, 'a'));
  assert.notEqual(lineEventId('dev:ino', 10, 'a'), lineEventId('dev:other', 10, 'a'));
  assert.notEqual(lineEventId('dev:ino', 10, 'a'), lineEventId('dev:ino', 10, 'b'), 'a new line at that offset after a truncation');
  for (let i = 0; i < 50; i++) assert.ok(z.uuid().safeParse(lineEventId('f', i, 'x')).success, lineEventId('f', i, 'x'));
  // One file's ids grow with the offset: appended to the events' id index, not scattered in it.
  const offsets = [0, 1, 15, 16, 255, 4096, 65_535, 1 << 20, 123_456_789, 2 ** 40];
  const ids = offsets.map((o) => lineEventId('dev:ino', o, `line at ${o}`));
  assert.deepEqual([...ids].sort(), ids);
  for (const id of ids) assert.ok(z.uuid().safeParse(id).success, id);
});

test('every event a line makes passes the webhook contract, though the tailer skips its zod pass', () => {
  const long = (n: number) => 'x'.repeat(n);
  const edges: Array<[LogFormat, string]> = [
    ['nginx', `203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php?${long(5000)} HTTP/1.1" 200 1 "-" "${long(3000)}"`],
    ['nginx', `::ffff:203.0.113.5 - - [02/Dec/2026:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA}`],
    ['nginx', `203.0.113.5 - - [02/Dec/2027:05:50:01 +0000] "POST /wp-login.php HTTP/1.1" 200 1 ${UA}`], // a year ahead: read as now
    ['wp-fail2ban', `Dec  2 05:50:01 web1 wordpress[1]: Authentication failure for ${long(1000)} from 203.0.113.5`],
    ['wp-fail2ban', 'Dec  2 05:50:01 web1 wordpress[1]: Authentication failure for  from 2001:DB8:0:0::1'],
  ];
  const lines = [...ROWS.map(([, format, line]) => [format, line] as [LogFormat, string]), ...edges];
  let checked = 0;
  lines.forEach(([format, text], i) => {
    const got = parseLine(text, format, ctx);
    if (got.kind !== 'event') return;
    const event = toAttemptEvent(got.event, { identity: 'dev:ino', offset: i * 100, text }, ctx.nowMs);
    const valid = eventSchema.safeParse(event);
    assert.ok(valid.success, `${text.slice(0, 120)}: ${valid.success ? '' : JSON.stringify(valid.error.issues)}`);
    checked++;
  });
  assert.equal(checked, lines.length - ROWS.filter(([, , , want]) => want.kind !== 'event').length);
});
