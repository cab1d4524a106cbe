// The plugin's origin 403 cache follows unbans: every answer to a batch lists the bans lifted
// since the cursor the plugin sent (an admin's unban, an allowlisting, a self-unlock), and an
// empty batch with a cursor is a sync, not a 400.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, attempt, signedHeaders, startService } from '../support/service.ts';

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService();
});
after(async () => svc.close());

async function post(body: Record<string, unknown>) {
  const raw = JSON.stringify(body);
  return svc.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(svc.site, raw), payload: raw });
}
const five = (ip: string) => Array.from({ length: 5 }, () => attempt(ip));

test('a first batch without a cursor is told to clear its cache and gets a cursor to send next', async () => {
  const res = await post({ events: [attempt('192.0.2.200')] });
  assert.equal(res.statusCode, 200, res.body);
  const unbanned = res.json().unbanned;
  assert.equal(unbanned.clear_all, true);
  assert.deepEqual(unbanned.ip_keys, []);
  assert.equal(typeof unbanned.cursor, 'number');
});

test('unbans and allowlistings after the cursor are listed once, then not again', async () => {
  const banned = await post({ events: [...five('198.51.100.40'), ...five('198.51.100.41'), ...five('198.51.100.42')], unban_cursor: 0 });
  assert.equal(banned.json().decisions.length, 3, banned.body);
  const cursor = banned.json().unbanned.cursor as number;
  assert.ok(cursor > 0);

  const unban = await svc.app.inject({ method: 'DELETE', url: '/v1/bans/198.51.100.40', headers: adminHeaders });
  assert.equal(unban.statusCode, 200, unban.body);
  const allow = await svc.app.inject({ method: 'POST', url: '/v1/allowlist', headers: adminHeaders, payload: { cidr: '198.51.100.41' } });
  assert.equal(allow.statusCode, 201, allow.body);

  const next = await post({ events: [attempt('192.0.2.201')], unban_cursor: cursor });
  assert.equal(next.statusCode, 200, next.body);
  assert.deepEqual(next.json().unbanned.ip_keys, ['198.51.100.40', '198.51.100.41']);
  assert.equal(next.json().unbanned.clear_all, false);
  assert.ok(next.json().unbanned.cursor > cursor);

  const again = await post({ events: [attempt('192.0.2.202')], unban_cursor: next.json().unbanned.cursor });
  assert.deepEqual(again.json().unbanned.ip_keys, [], 'already seen');
});

test('an empty batch with a cursor is a sync; without one it is a 400 naming events', async () => {
  const sync = await post({ events: [], unban_cursor: 0 });
  assert.equal(sync.statusCode, 200, sync.body);
  assert.equal(sync.json().accepted, 0);
  assert.ok(Array.isArray(sync.json().unbanned.ip_keys));

  const empty = await post({ events: [] });
  assert.equal(empty.statusCode, 400, empty.body);
  assert.match(empty.json().message, /events: must hold at least 1 event/);

  const bad = await post({ events: [], unban_cursor: -1 });
  assert.equal(bad.statusCode, 400, bad.body);
  assert.match(bad.json().message, /unban_cursor/);
});
