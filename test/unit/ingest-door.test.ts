// The door: a saturated ingest request is refused in the server's request listener, with
// the same answer Fastify's hooks give, and only ingest is refused there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSchema } from '../../server/config/schema.ts';
import { createIngestAdmission } from '../../server/http/overload.ts';

const limits = { ...configSchema.parse({}).overload, max_inflight_ingest: 1, retry_after_seconds: 7 };

/** POSTs `body` to /v1/events over `agent`; resolves with the status once the answer is read. */
function post(url: string, agent: Agent, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/events`, { method: 'POST', agent, headers: { 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Door {
  url: string;
  admission: ReturnType<typeof createIngestAdmission>;
  clock: { ms: number };
  connections: () => number;
}

async function withDoor(fn: (door: Door) => Promise<void>) {
  const clock = { ms: 1_000_000 };
  const admission = createIngestAdmission(limits, () => clock.ms);
  const server = createServer((req, res) => {
    if (!admission.door(req, res)) res.end('passed to fastify');
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, admission, clock, connections: () => connections });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('with every ingest slot taken, the door answers 429 itself, names the cause and counts it', async () => {
  await withDoor(async ({ url, admission, connections }) => {
    const refused: Array<[string, boolean]> = [];
    admission.onRefused((reason, atDoor) => refused.push([reason, atDoor]));
    admission.take();
    for (const path of ['/v1/events', '/v1/events?retry=1']) {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [] }) });
      assert.equal(res.status, 429, path);
      assert.equal(res.headers.get('retry-after'), '7');
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(await res.json(), { error: 'overloaded', message: 'too many requests in flight; retry after the Retry-After delay' });
    }
    assert.deepEqual(refused, [['inflight', true], ['inflight', true]]);
    // Keep-alive survives a refusal whose body was never read: the next request on it is answered.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = connections();
    try {
      for (const size of [2, 200_000, 2]) assert.equal(await post(url, agent, 'x'.repeat(size)), 429);
    } finally {
      agent.destroy();
    }
    assert.equal(connections() - before, 1, 'the three refusals went out on one kept-alive connection');
  });
});

test('the door lets through every other request, ingest once a slot is free, and everything once the app is closing', async () => {
  await withDoor(async ({ url, admission }) => {
    admission.take();
    for (const [method, path] of [['GET', '/v1/events'], ['POST', '/v1/eventsx'], ['POST', '/v1/status'], ['GET', '/healthz']] as const) {
      const res = await fetch(`${url}${path}`, { method, ...(method === 'POST' && { body: '{}' }) });
      assert.equal(await res.text(), 'passed to fastify', `${method} ${path}`);
    }
    admission.release();
    const res = await fetch(`${url}/v1/events`, { method: 'POST', body: '{}' });
    assert.equal(await res.text(), 'passed to fastify');
    // Closing, Fastify's own 503 with Connection: close answers instead, sending clients elsewhere.
    admission.take();
    admission.close();
    assert.equal(await (await fetch(`${url}/v1/events`, { method: 'POST', body: '{}' })).text(), 'passed to fastify');
  });
});

test('refusals for a busy loop shorten the group commit slices for a second; a slow peer does not', async () => {
  await withDoor(async ({ url, admission, clock }) => {
    assert.equal(admission.shedding(), false);
    admission.refused('inflight_per_peer', false);
    assert.equal(admission.shedding(), false, 'one peer holding its slots says nothing of the loop');
    admission.take();
    assert.equal((await fetch(`${url}/v1/events`, { method: 'POST', body: '{}' })).status, 429);
    assert.equal(admission.shedding(), true);
    clock.ms += 999;
    assert.equal(admission.shedding(), true);
    clock.ms += 2;
    assert.equal(admission.shedding(), false);
  });
});
