// The API takes JSON bodies only, answers a wrong method with 405 and Allow, and a broken
// URL with a 400 in its own error shape.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, attempt, signedHeaders, startService, withAdminListener } from '../support/service.ts';

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService();
});
after(async () => svc.close());

test('a correctly signed /v1/events POST sent as text/plain gets 415, as the README promises', async () => {
  const body = JSON.stringify({ events: [attempt('203.0.113.60')] });
  const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: { ...signedHeaders(svc.site, body), 'content-type': 'text/plain' }, payload: body });
  assert.equal(res.statusCode, 415, res.body);
  assert.equal(res.json().error, 'unsupported_media_type');
  assert.equal(svc.app.core.store.countEvents(), 0, 'nothing stored');
});

test('an admin POST sent as text/plain gets 415, not a confusing 400 about its fields', async () => {
  const res = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: { ...adminHeaders, 'content-type': 'text/plain' }, payload: '{"ip":"203.0.113.61"}' });
  assert.equal(res.statusCode, 415, res.body);
  assert.equal(res.json().error, 'unsupported_media_type');
});

for (const [method, url, allow] of [
  ['GET', '/v1/events', 'POST'],
  ['PUT', '/v1/bans', 'GET, HEAD, POST'],
  ['PATCH', '/v1/bans/203.0.113.62', 'DELETE'],
  ['POST', '/healthz', 'GET, HEAD'],
  ['DELETE', '/v1/allowlist', 'GET, HEAD, POST'],
] as const) {
  test(`${method} ${url} is 405 with Allow: ${allow}`, async () => {
    const res = await svc.app.inject({ method, url, headers: adminHeaders });
    assert.equal(res.statusCode, 405, res.body);
    assert.equal(res.headers.allow, allow);
    assert.equal(res.json().error, 'method_not_allowed');
    assert.match(res.json().message, new RegExp(`${method} is not served on`));
  });
}

test('an unknown path is still 404', async () => {
  const res = await svc.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: adminHeaders });
  assert.equal(res.statusCode, 404, res.body);
  assert.equal(res.headers.allow, undefined);
});

test('a path that is not valid URL encoding is a 400 in the API error shape', async () => {
  const res = await svc.app.inject({ method: 'DELETE', url: '/v1/bans/%zz', headers: adminHeaders });
  assert.equal(res.statusCode, 400, res.body);
  assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'message']);
  assert.equal(res.json().error, 'bad_url');
});

test('with the admin API on its own listener, the ingest address answers a wrong method on an admin path with 404, the admin address with 405', async () => {
  await withAdminListener(async ({ main, admin }) => {
    const onMain = await fetch(`${main}/v1/bans`, { method: 'PUT', headers: adminHeaders });
    assert.equal(onMain.status, 404, 'the ingest address does not reveal admin routes');
    const onAdmin = await fetch(`${admin}/v1/bans`, { method: 'PUT', headers: adminHeaders });
    assert.equal(onAdmin.status, 405);
    assert.equal(onAdmin.headers.get('allow'), 'GET, HEAD, POST');
    const ingestOnMain = await fetch(`${main}/v1/events`, { method: 'GET' });
    assert.equal(ingestOnMain.status, 405);
    assert.equal(ingestOnMain.headers.get('allow'), 'POST');
  });
});
