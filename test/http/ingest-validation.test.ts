import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { attempt, postEvents, signedHeaders, startService } from '../support/service.ts';

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService();
});
after(async () => svc.close());

const future = new Date(Date.now() + 3_600_000).toISOString();
const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
  ['id is not a UUID', { id: 'abc' }, /^events\[1\]\.id: must be a UUID/],
  ['unknown type', { type: 'login_maybe' }, /^events\[1\]\.type: /],
  ['ip is not an address', { ip: '203.0.113.999' }, /^events\[1\]\.ip: must be an IPv4 or IPv6 address/],
  ['ip is a hostname', { ip: 'example.com' }, /^events\[1\]\.ip: /],
  ['ip carries a zone id', { ip: 'fe80::1%eth0' }, /^events\[1\]\.ip: /],
  ['occurred_at has no zone', { occurred_at: '2026-11-25T10:00:00' }, /^events\[1\]\.occurred_at: must be an ISO-8601/],
  ['occurred_at in the future', { occurred_at: future }, /^events\[1\]\.occurred_at: is in the future/],
  ['username longer than 255', { username: 'a'.repeat(256) }, /^events\[1\]\.username: /],
  ['user_agent longer than 512', { user_agent: 'u'.repeat(513) }, /^events\[1\]\.user_agent: /],
  ['weight 0', { weight: 0 }, /^events\[1\]\.weight: /],
  ['weight not an integer', { weight: 1.5 }, /^events\[1\]\.weight: /],
  ['weight as a string', { weight: '3' }, /^events\[1\]\.weight: /],
  ['an unknown field', { password: 'hunter2' }, /^events\[1\]: .*password/],
];

for (const [name, change, message] of invalid) {
  test(`400 invalid_payload when ${name}, and nothing of the batch is stored`, async () => {
    const before = svc.app.core.store.countEvents();
    const res = await postEvents(svc.app, svc.site, [attempt('198.51.100.1'), attempt('198.51.100.2', change)]);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error, 'invalid_payload');
    assert.match(res.json().message, message);
    assert.equal(svc.app.core.store.countEvents(), before);
  });
}

test('a password never comes back in an error message', async () => {
  const res = await postEvents(svc.app, svc.site, [attempt('198.51.100.3', { password: 'hunter2-secret' })]);
  assert.equal(res.statusCode, 400);
  assert.ok(!res.body.includes('hunter2-secret'));
});

test('batch limits: 0 events and 501 events are refused, 500 accepted', async () => {
  const empty = await postEvents(svc.app, svc.site, []);
  assert.equal(empty.statusCode, 400);
  assert.match(empty.json().message, /^events: /);
  const tooMany = await postEvents(svc.app, svc.site, Array.from({ length: 501 }, () => attempt('198.51.100.4', { username: null, user_agent: null })));
  assert.equal(tooMany.statusCode, 400);
  const ok = await postEvents(svc.app, svc.site, Array.from({ length: 500 }, (_, i) => attempt(`198.18.${i >> 8}.${i & 255}`, { username: null, user_agent: null })));
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().accepted, 500);
});

test('missing events key and a non-object body are 400', async () => {
  for (const payload of ['{}', '[]', '"x"', '{"events":"nope"}']) {
    const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(svc.site, payload), payload });
    assert.equal(res.statusCode, 400, `${payload}: ${res.body}`);
    assert.equal(res.json().error, 'invalid_payload');
  }
});

test('malformed JSON is 400 invalid_json', async () => {
  const payload = '{"events":[';
  const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(svc.site, payload), payload });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error, 'invalid_json');
});

test('a body over 256 KiB is 413', async () => {
  const payload = JSON.stringify({ events: [attempt('198.51.100.5', { user_agent: 'x'.repeat(300 * 1024) })] });
  const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(svc.site, payload), payload });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json().error, 'payload_too_large');
});

test('a body that is not JSON is 415', async () => {
  const payload = 'events=1';
  const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: { ...signedHeaders(svc.site, payload), 'content-type': 'application/x-www-form-urlencoded' }, payload });
  assert.equal(res.statusCode, 415);
});

test('an event id seen before is a duplicate, never counted twice', async () => {
  const events = Array.from({ length: 4 }, () => attempt('192.0.2.10'));
  const first = await postEvents(svc.app, svc.site, events);
  assert.deepEqual(first.json(), { accepted: 4, duplicates: 0, decisions: [], shield: { up: false }, unbanned: { cursor: 0, ip_keys: [], clear_all: true } });
  const again = await postEvents(svc.app, svc.site, events);
  assert.deepEqual(again.json(), { accepted: 0, duplicates: 4, decisions: [], shield: { up: false }, unbanned: { cursor: 0, ip_keys: [], clear_all: true } }, 'eight deliveries of four attempts must not ban');
  const fifth = await postEvents(svc.app, svc.site, [attempt('192.0.2.10')]);
  assert.equal(fifth.json().decisions.length, 1, 'the fifth distinct attempt bans');
});

test('hello records the plugin and WordPress versions on the site', async () => {
  const res = await postEvents(svc.app, svc.site, [
    { id: crypto.randomUUID(), type: 'hello', occurred_at: new Date().toISOString(), site_url: 'https://blog.example', plugin_version: '0.1.0', wp_version: '6.1.9', php_version: '8.2.0' },
  ]);
  assert.equal(res.statusCode, 200, res.body);
  const site = svc.app.core.store.siteById(svc.site.id)!;
  assert.equal(site.site_url, 'https://blog.example');
  assert.equal(site.wp_version, '6.1.9');
});
