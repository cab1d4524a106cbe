// Slowloris: clients that trickle a request must not hold what real sites need. Time-outs
// end them, only a known site with a fresh timestamp may take an ingest slot, and each
// address may hold only a few slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { buildApp } from '../../server/app.ts';
import { listen } from '../../server/http/listeners.ts';
import { addSite, attempt, signedHeaders, tempDir, testConfig, type TestSite } from '../support/service.ts';

async function startListening(overrides: Record<string, unknown> = {}) {
  const tmp = tempDir();
  const config = testConfig(tmp.dir, { port: 0, ...overrides });
  const app = await buildApp(config, { backgroundJobs: false });
  await app.ready();
  const site = addSite(app);
  const [main] = await listen(app, app.listenerPlan, config);
  const port = Number(new URL(main!).port);
  return { app, site, port, close: async () => { await app.close(); tmp.cleanup(); } };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface SlowClient {
  socket: Socket;
  received: string;
  closed: boolean;
}

/** Sends the headers of a signed-looking batch and then its body one byte a second. */
function slowSender(port: number, headers: Record<string, string>, options: { completeHeaders?: boolean } = {}): SlowClient {
  const client: SlowClient = { socket: connect({ port, host: '127.0.0.1' }), received: '', closed: false };
  const lines = ['POST /v1/events HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', 'Content-Length: 4096', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  client.socket.write(options.completeHeaders === false ? `${lines.join('\r\n')}\r\n` : `${lines.join('\r\n')}\r\n\r\n{`);
  const trickle = setInterval(() => client.socket.writable && client.socket.write(options.completeHeaders === false ? 'X' : ' '), 1000);
  client.socket.on('data', (chunk) => (client.received += chunk.toString()));
  client.socket.on('error', () => undefined);
  client.socket.on('close', () => {
    client.closed = true;
    clearInterval(trickle);
  });
  return client;
}

const fakeSignature = (site: TestSite) => ({
  'X-EdgeJail-Site': site.id,
  'X-EdgeJail-Timestamp': String(Math.floor(Date.now() / 1000)),
  'X-EdgeJail-Signature': `sha256=${'0'.repeat(64)}`,
});

function postFrom(localAddress: string, port: number, site: TestSite): Promise<number> {
  const body = JSON.stringify({ events: [attempt('203.0.113.50')] });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, localAddress, method: 'POST', path: '/v1/events', headers: signedHeaders(site, body) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('100 slow senders on one address leave room for a signed batch from another', { timeout: 60_000 }, async () => {
  const svc = await startListening();
  const slow: SlowClient[] = [];
  try {
    for (let i = 0; i < 100; i++) slow.push(slowSender(svc.port, fakeSignature(svc.site)));
    // Every slow request is either holding a slot or has been answered.
    await until(() => svc.app.ingestInFlight() + slow.filter((c) => c.received.length > 0).length === 100, 'every slow request to be admitted or refused');
    assert.ok(svc.app.ingestInFlight() <= svc.app.core.config.overload.max_inflight_ingest_per_peer, `one address holds ${svc.app.ingestInFlight()} slots`);
    assert.ok(slow.filter((c) => c.received.startsWith('HTTP/1.1 429')).length >= 100 - svc.app.core.config.overload.max_inflight_ingest_per_peer);
    assert.equal(await postFrom('127.0.0.2', svc.port, svc.site), 200);
  } finally {
    for (const c of slow) c.socket.destroy();
    await svc.close();
  }
});

test('a slow sender naming an unknown site gets 401 at its headers and never takes a slot', { timeout: 30_000 }, async () => {
  const svc = await startListening();
  try {
    const stranger = slowSender(svc.port, { ...fakeSignature(svc.site), 'X-EdgeJail-Site': '00000000-0000-4000-8000-000000000000' });
    await until(() => stranger.received.length > 0, 'the answer to the stranger');
    assert.match(stranger.received, /^HTTP\/1.1 401/);
    assert.equal(svc.app.ingestInFlight(), 0);
    stranger.socket.destroy();
  } finally {
    await svc.close();
  }
});

test('a body still trickling after timeouts.request is cut off with 408', { timeout: 30_000 }, async () => {
  const svc = await startListening({ timeouts: { request: '2s', headers: '1s' } });
  try {
    const client = slowSender(svc.port, fakeSignature(svc.site));
    await until(() => client.closed, 'the server to end the slow request');
    assert.match(client.received, /^HTTP\/1.1 408/);
    await until(() => svc.app.ingestInFlight() === 0, 'its slot to be released');
  } finally {
    await svc.close();
  }
});

test('headers still trickling after timeouts.headers are cut off', { timeout: 30_000 }, async () => {
  const svc = await startListening({ timeouts: { request: '3s', headers: '1s' } });
  try {
    const client = slowSender(svc.port, fakeSignature(svc.site), { completeHeaders: false });
    await until(() => client.closed, 'the server to end the slow headers');
    assert.match(client.received, /^HTTP\/1.1 408/);
  } finally {
    await svc.close();
  }
});
