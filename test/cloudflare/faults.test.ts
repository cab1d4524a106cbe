// Enforcement through lost responses, rate limiting and server errors: every ban and
// unban completes, nothing is done twice, and we never trip Cloudflare's limit ourselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHarness, taggedRules, actionsOf } from './support.ts';

test('a create whose response is lost leaves exactly one rule, adopted by tag, and the unban still removes it', async () => {
  const h = await createHarness();
  try {
    h.fake.injectFault({ kind: 'drop_response', match: { method: 'POST', pathIncludes: '/access_rules/' }, times: 1 });
    const enforcer = await h.startEnforcer();
    const banId = h.ban('203.0.113.40');
    await h.settle(enforcer);

    const rules = taggedRules(h.fake);
    assert.equal(rules.length, 1);
    assert.equal(h.fake.callCount({ method: 'POST' }), 1, 'never a second create');
    const row = h.db.prepare('SELECT state, cloudflare_id FROM cloudflare_enforcement WHERE ip_key = ?').get('203.0.113.40') as { state: string; cloudflare_id: string };
    assert.deepEqual(row, { state: 'active', cloudflare_id: rules[0]!.id });
    const ops = actionsOf(h.db, '203.0.113.40').map((a) => `${a.operation} ${a.outcome}`);
    assert.deepEqual(ops, ['create_rule error', 'find_rule ok']);

    h.lift(banId);
    await h.settle(enforcer);
    assert.equal(h.fake.accessRules('account').length, 0);
  } finally {
    await h.close();
  }
});

test('a crash right after a lost create response is resolved by the next process: one rule, removed on time', async () => {
  const h = await createHarness();
  try {
    // Every create answer is lost and the first process dies before it can retry.
    h.fake.injectFault({ kind: 'drop_response', match: { method: 'POST', pathIncludes: '/access_rules/' }, times: 1 });
    const first = await h.startEnforcer({ ...h.config, retry: { base_ms: 60_000, max_ms: 60_000 } });
    const banId = h.ban('203.0.113.41');
    await first.drain(); // the failed attempt now waits a minute of backoff
    await first.stop();
    assert.equal(h.fake.accessRules('account').length, 1, 'Cloudflare made the rule');
    const row = h.db.prepare('SELECT cloudflare_id, create_uncertain FROM cloudflare_enforcement WHERE ip_key = ?').get('203.0.113.41');
    assert.deepEqual(row, { cloudflare_id: null, create_uncertain: 1 });

    // The core lifts the ban at expiry before anyone retried: the unban must find the rule by its tag.
    h.lift(banId);
    h.db.prepare('UPDATE enforcement_outbox SET next_attempt_at = ?').run(new Date().toISOString());
    const second = await h.startEnforcer();
    await h.settle(second);
    assert.equal(h.fake.accessRules('account').length, 0);
    assert.equal(h.fake.callCount({ method: 'POST' }), 1);
  } finally {
    await h.close();
  }
});

test('a 429 storm and 5xx bursts delay but never lose bans or unbans, and our limiter keeps us under the limit', async () => {
  // A small limit on both sides so the test exercises it quickly.
  const h = await createHarness({
    fake: { rateLimit: { limit: 30, windowMs: 2_000, blockMs: 2_000 } },
    // One rule per IP is what this test counts: 24 addresses of one /24 would otherwise become one range.
    config: { rate_limit: { requests: 30, per_seconds: 2, safety_margin: 0.2, max_per_second: 20 }, concurrency: 8, aggregate: { enabled: false } },
  });
  try {
    const enforcer = await h.startEnforcer();
    h.fake.injectFault({ kind: 'rate_limit', retryAfterSeconds: 1, times: 4 });
    h.fake.injectFault({ kind: 'server_error', status: 503, match: { method: 'POST' }, times: 3 });
    h.fake.injectFault({ kind: 'server_error', status: 500, match: { method: 'DELETE' }, times: 3 });
    h.fake.injectFault({ kind: 'server_error', status: 502, match: { method: 'GET' }, times: 2 });
    const ips = Array.from({ length: 24 }, (_, i) => `198.18.0.${i + 1}`);
    const bans = ips.map((ip) => h.ban(ip));
    await h.settle(enforcer);
    assert.deepEqual(ips.filter((ip) => !h.fake.isBlocked(ip)), []);
    assert.equal(taggedRules(h.fake).length, ips.length);

    h.fake.injectFault({ kind: 'rate_limit', retryAfterSeconds: 1, match: { method: 'DELETE' }, times: 3 });
    bans.forEach((id) => h.lift(id));
    await h.settle(enforcer);
    assert.equal(h.fake.accessRules('account').length, 0);

    const statuses = h.fake.calls.map((c) => c.status);
    assert.equal(statuses.filter((s) => s === 429).length, 7, 'only the injected 429s: the fake never rate-limited us on its own');
    assert.ok(statuses.filter((s) => s >= 500).length >= 8);
    const failures = h.db.prepare("SELECT count(*) AS n FROM cloudflare_actions WHERE outcome = 'error'").get() as { n: number };
    assert.ok(failures.n >= 15, 'every failed call is in cloudflare_actions');
    const status = enforcer.status();
    assert.ok(status.limiterWaits > 0 && status.limiterWaitedMs > 0, `the limiter held calls back (${status.limiterWaits}, ${status.limiterWaitedMs} ms)`);
  } finally {
    await h.close();
  }
});

test('a 2xx answer whose envelope says success:false is retried, never counted as done', async () => {
  const h = await createHarness();
  // A loopback proxy in front of the fake that answers the first create with 200 and success:false.
  let rewritten = 0;
  const proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'POST' && req.url?.includes('/access_rules/') && rewritten === 0) {
      rewritten++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: false, errors: [{ code: 10000, message: 'temporarily unable' }], messages: [], result: null }));
      return;
    }
    const upstream = await fetch(`${h.fake.url}${req.url}`, {
      method: req.method,
      headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(await upstream.text());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const port = (proxy.address() as AddressInfo).port;
    const enforcer = await h.startEnforcer({ ...h.config, base_url: `http://127.0.0.1:${port}/client/v4` });
    h.ban('192.0.2.88');
    await h.settle(enforcer);
    assert.equal(rewritten, 1);
    assert.equal(h.fake.isBlocked('192.0.2.88'), true);
    const ops = actionsOf(h.db, '192.0.2.88').map((a) => `${a.operation} ${a.outcome} ${a.http_status}`);
    assert.equal(ops[0], 'create_rule error 200');
    assert.ok(ops.includes('create_rule ok 200'));
  } finally {
    await h.close();
    await new Promise((resolve) => proxy.close(resolve));
  }
});

test('slow answers beyond the SDK timeout are retried through the outbox', async () => {
  const h = await createHarness({ config: { sdk: { timeout_ms: 200, max_retries: 0 } } });
  try {
    h.fake.injectFault({ kind: 'slow', delayMs: 600, match: { method: 'POST' }, times: 1 });
    const enforcer = await h.startEnforcer();
    h.ban('192.0.2.91');
    await h.settle(enforcer);
    assert.equal(taggedRules(h.fake).length, 1);
    const ops = actionsOf(h.db, '192.0.2.91').map((a) => `${a.operation} ${a.outcome}`);
    assert.equal(ops[0], 'create_rule error');
  } finally {
    await h.close();
  }
});

test('stop() lets an in-flight create finish, and a stopped enforcer cannot be started again', async () => {
  const h = await createHarness();
  try {
    h.fake.injectFault({ kind: 'slow', delayMs: 300, match: { method: 'POST' }, times: 1 });
    const enforcer = await h.startEnforcer();
    h.ban('192.0.2.95');
    while (enforcer.status().inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    await enforcer.stop();
    const row = h.db.prepare('SELECT state, cloudflare_id FROM cloudflare_enforcement WHERE ip_key = ?').get('192.0.2.95') as { state: string; cloudflare_id: string };
    assert.equal(row.state, 'active');
    assert.equal(row.cloudflare_id, taggedRules(h.fake)[0]!.id);
    assert.equal(h.db.prepare('SELECT count(*) AS n FROM enforcement_outbox').pluck().get(), 0);
    await assert.rejects(enforcer.start(), /was stopped/);
  } finally {
    await h.close();
  }
});
