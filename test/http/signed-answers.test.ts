// The service signs its answers to signed requests, bound to the request they answer, so
// the plugin can refuse forged decisions and forged Cloudflare ranges.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { attempt, signedHeaders, startService } from '../support/service.ts';

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService();
});
after(async () => svc.close());

/** The scheme as the README states it, written out independently of the server's code. */
function expectedAnswerSignature(secret: string, timestamp: string, requestSignature: string, body: string): string {
  const hex = requestSignature.replace(/^sha256=/, '');
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${hex}.${body}`).digest('hex')}`;
}

function assertSignedAnswer(res: { headers: Record<string, unknown>; body: string }, requestSignature: string) {
  const timestamp = res.headers['x-edgejail-timestamp'];
  const signature = res.headers['x-edgejail-signature'];
  assert.equal(typeof timestamp, 'string', 'the answer carries X-EdgeJail-Timestamp');
  assert.match(timestamp as string, /^\d+$/);
  assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 600, 'the answer timestamp is the service clock in unix seconds');
  assert.equal(signature, expectedAnswerSignature(svc.site.secret, timestamp as string, requestSignature, res.body));
}

test('an accepted event batch is answered with a signature over the request signature and the body', async () => {
  const body = JSON.stringify({ events: [attempt('203.0.113.50')] });
  const headers = signedHeaders(svc.site, body);
  const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers, payload: body });
  assert.equal(res.statusCode, 200, res.body);
  assertSignedAnswer(res, headers['x-edgejail-signature']!);
});

test('a refused (400) batch from an authenticated site is signed too', async () => {
  const body = JSON.stringify({ events: [attempt('not-an-ip')] });
  const headers = signedHeaders(svc.site, body);
  const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers, payload: body });
  assert.equal(res.statusCode, 400, res.body);
  assertSignedAnswer(res, headers['x-edgejail-signature']!);
});

test('the Cloudflare ranges answer is signed', async () => {
  const headers = signedHeaders(svc.site, '');
  delete headers['content-type'];
  const res = await svc.app.inject({ method: 'GET', url: '/v1/cloudflare-ranges', headers });
  assert.equal(res.statusCode, 200, res.body);
  assertSignedAnswer(res, headers['x-edgejail-signature']!);
});

test('an answer is bound to its request: it does not verify against another request', async () => {
  const first = signedHeaders(svc.site, '', Math.floor(Date.now() / 1000) - 1);
  const second = signedHeaders(svc.site, '');
  delete first['content-type'];
  delete second['content-type'];
  const a = await svc.app.inject({ method: 'GET', url: '/v1/cloudflare-ranges', headers: first });
  const b = await svc.app.inject({ method: 'GET', url: '/v1/cloudflare-ranges', headers: second });
  assert.notEqual(first['x-edgejail-signature'], second['x-edgejail-signature']);
  const replayed = expectedAnswerSignature(svc.site.secret, a.headers['x-edgejail-timestamp'] as string, second['x-edgejail-signature']!, a.body);
  assert.notEqual(a.headers['x-edgejail-signature'], replayed, "the first answer's signature does not hold for the second request");
  assertSignedAnswer(b, second['x-edgejail-signature']!);
});

test('an unauthenticated request gets no signature (no MAC under the secret for a stranger)', async () => {
  const body = JSON.stringify({ events: [attempt('203.0.113.51')] });
  const headers = { ...signedHeaders(svc.site, body), 'x-edgejail-signature': `sha256=${'0'.repeat(64)}` };
  const res = await svc.app.inject({ method: 'POST', url: '/v1/events', headers, payload: body });
  assert.equal(res.statusCode, 401, res.body);
  assert.equal(res.headers['x-edgejail-signature'], undefined);
});
