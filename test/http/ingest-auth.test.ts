import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { signBody } from '../../server/auth/site-signature.ts';
import { attempt, signedHeaders, startService } from '../support/service.ts';

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService();
});
after(async () => svc.close());

const body = () => JSON.stringify({ events: [attempt('203.0.113.7')] });

async function send(headers: Record<string, string>, payload: string) {
  return svc.app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', ...headers }, payload });
}

test('a correctly signed batch is accepted', async () => {
  const payload = body();
  const res = await send(signedHeaders(svc.site, payload), payload);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { accepted: 1, duplicates: 0, decisions: [], shield: { up: false }, unbanned: { cursor: 0, ip_keys: [], clear_all: true } });
});

const cases: Array<[string, (h: Record<string, string>, payload: string) => [Record<string, string>, string], string]> = [
  ['missing site header', (h, p) => { delete h['x-edgejail-site']; return [h, p]; }, 'missing_site'],
  ['missing timestamp', (h, p) => { delete h['x-edgejail-timestamp']; return [h, p]; }, 'missing_timestamp'],
  ['missing signature', (h, p) => { delete h['x-edgejail-signature']; return [h, p]; }, 'missing_signature'],
  ['timestamp not unix seconds', (h, p) => [{ ...h, 'x-edgejail-timestamp': '2026-01-01T00:00:00Z' }, p], 'bad_timestamp'],
  ['signature without sha256= prefix', (h, p) => [{ ...h, 'x-edgejail-signature': h['x-edgejail-signature']!.slice(7) }, p], 'malformed_signature'],
  ['signature in upper-case hex', (h, p) => [{ ...h, 'x-edgejail-signature': h['x-edgejail-signature']!.toUpperCase().replace('SHA256', 'sha256') }, p], 'malformed_signature'],
  // The same code as a wrong signature: a 401 must not tell a prober which site ids exist.
  ['unknown site id', (h, p) => [{ ...h, 'x-edgejail-site': '00000000-0000-4000-8000-000000000000' }, p], 'bad_signature'],
  ['body changed after signing', (h, p) => [h, p.replace('203.0.113.7', '203.0.113.8')], 'bad_signature'],
  ['signed with another secret', (h, p) => {
    const ts = h['x-edgejail-timestamp']!;
    return [{ ...h, 'x-edgejail-signature': `sha256=${signBody('not-the-secret', ts, p)}` }, p];
  }, 'bad_signature'],
];

for (const [name, mutate, code] of cases) {
  test(`401 ${code}: ${name}`, async () => {
    const payload = body();
    const [headers, sent] = mutate(signedHeaders(svc.site, payload), payload);
    const res = await send(headers, sent);
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(res.json().error, code);
    assert.ok(res.json().message.length > 10);
  });
}

test('an unknown site id and a wrong signature get the very same answer', async () => {
  const payload = body();
  const headers = signedHeaders(svc.site, payload);
  const unknown = await send({ ...headers, 'x-edgejail-site': '00000000-0000-4000-8000-000000000000' }, payload);
  const forged = await send({ ...headers, 'x-edgejail-signature': `sha256=${signBody('not-the-secret', headers['x-edgejail-timestamp']!, payload)}` }, payload);
  assert.equal(unknown.statusCode, forged.statusCode);
  assert.equal(unknown.body, forged.body);
});

for (const skew of [301, -301]) {
  test(`401 stale_timestamp: signed ${skew} s away from now`, async () => {
    const payload = body();
    const res = await send(signedHeaders(svc.site, payload, Math.floor(Date.now() / 1000) + skew), payload);
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error, 'stale_timestamp');
  });
}

test('a timestamp 290 s old is still inside the window', async () => {
  const payload = body();
  const res = await send(signedHeaders(svc.site, payload, Math.floor(Date.now() / 1000) - 290), payload);
  assert.equal(res.statusCode, 200, res.body);
});

test('a refused request stores nothing and never echoes the secret', async () => {
  const before = svc.app.core.store.countEvents();
  const payload = body();
  const res = await send({ ...signedHeaders(svc.site, payload), 'x-edgejail-signature': `sha256=${'0'.repeat(64)}` }, payload);
  assert.equal(res.statusCode, 401);
  assert.equal(svc.app.core.store.countEvents(), before);
  assert.ok(!res.body.includes(svc.site.secret));
});

test('admin routes refuse a missing or wrong bearer token', async () => {
  const missing = await svc.app.inject({ method: 'GET', url: '/v1/bans' });
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.json().error, 'missing_token');
  const wrong = await svc.app.inject({ method: 'GET', url: '/v1/bans', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().error, 'bad_token');
  const siteSigned = await svc.app.inject({ method: 'GET', url: '/v1/bans', headers: signedHeaders(svc.site, '') });
  assert.equal(siteSigned.statusCode, 401, 'a site signature is not an admin credential');
});

test('the signed cloudflare-ranges route answers a site, not a stranger', async () => {
  const ok = await svc.app.inject({ method: 'GET', url: '/v1/cloudflare-ranges', headers: signedHeaders(svc.site, '') });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.ok(ok.json().ipv4.includes('173.245.48.0/20'));
  const anon = await svc.app.inject({ method: 'GET', url: '/v1/cloudflare-ranges' });
  assert.equal(anon.statusCode, 401);
});
