// Authentication, account/zone checks, rate limiting, injected faults and the /__fake control API,
// seen the way the real `cloudflare` SDK (or another process) sees them.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startFakeCloudflare, type FakeCloudflare } from './server.ts';

let fake: FakeCloudflare;
let cf: Cloudflare;

before(async () => {
  fake = await startFakeCloudflare();
  cf = new Cloudflare({ apiToken: fake.token, baseURL: fake.baseURL, maxRetries: 0, timeout: 2000 });
});
after(() => fake.close());
beforeEach(() => fake.reset());

const blockIp = (client: Cloudflare, value: string) =>
  client.firewall.accessRules.create({ account_id: fake.accountId, mode: 'block', configuration: { target: 'ip', value } });

describe('authentication and access checks', () => {
  it('verifies a good token on the user and the account endpoint', async () => {
    const user = await cf.user.tokens.verify();
    assert.equal(user.status, 'active');
    const account = await cf.accounts.tokens.verify({ account_id: fake.accountId });
    assert.equal(account.status, 'active');
  });

  it('answers a wrong token with 401 / 1000 on verify and 403 / 10000 elsewhere', async () => {
    const wrong = new Cloudflare({ apiToken: 'not-the-token', baseURL: fake.baseURL, maxRetries: 0, timeout: 2000 });
    await assert.rejects(wrong.user.tokens.verify(), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.AuthenticationError);
      assert.equal(err.errors[0]?.code, 1000);
      return true;
    });
    await assert.rejects(blockIp(wrong, '192.0.2.1'), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.PermissionDeniedError);
      assert.deepEqual(err.errors, [{ code: 10000, message: 'Authentication error' }]);
      return true;
    });
    assert.equal(fake.accessRules().length, 0);
  });

  it('answers a request without credentials with 400 / 9106 and a malformed header with 400 / 6003', async () => {
    const none = await fetch(`${fake.baseURL}/accounts/${fake.accountId}/firewall/access_rules/rules`);
    assert.equal(none.status, 400);
    const body = (await none.json()) as { success: boolean; errors: Array<{ code: number }>; result: unknown };
    assert.equal(body.success, false);
    assert.equal(body.errors[0]?.code, 9106);
    assert.equal(body.result, null);
    const malformed = await fetch(`${fake.baseURL}/user/tokens/verify`, { headers: { authorization: 'Token abc' } });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { errors: Array<{ code: number }> }).errors[0]?.code, 6003);
  });

  it('refuses an account or zone the token cannot see, and routes nothing for a malformed id', async () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    await assert.rejects(cf.accounts.get({ account_id: other }), Cloudflare.PermissionDeniedError);
    await assert.rejects(cf.zones.get({ zone_id: other }), Cloudflare.PermissionDeniedError);
    await assert.rejects(
      cf.firewall.accessRules.list({ zone_id: 'not-an-id' }),
      (err: unknown) => err instanceof Cloudflare.BadRequestError && err.errors[0]?.code === 7003,
    );
    const account = await cf.accounts.get({ account_id: fake.accountId });
    assert.equal(account.id, fake.accountId);
    const zone = await cf.zones.get({ zone_id: fake.zoneId });
    assert.equal(zone.id, fake.zoneId);
  });

  it('publishes Cloudflare’s IP ranges at /ips without credentials', async () => {
    const ips = (await cf.ips.list()) as { ipv4_cidrs?: string[]; ipv6_cidrs?: string[] };
    assert.ok(ips.ipv4_cidrs?.includes('173.245.48.0/20'));
    assert.ok(ips.ipv6_cidrs?.includes('2a06:98c0::/29'));
    assert.equal((await fetch(`${fake.baseURL}/ips`)).status, 200);
  });
});

describe('rate limiting', () => {
  it('after `limit` calls in the window refuses every call with 429 and retry-after until the block ends', async () => {
    const small = await startFakeCloudflare({ rateLimit: { limit: 3, windowMs: 60_000, blockMs: 120_000 } });
    try {
      const client = new Cloudflare({ apiToken: small.token, baseURL: small.baseURL, maxRetries: 0, timeout: 2000 });
      for (let i = 0; i < 3; i++) await client.user.tokens.verify();
      await assert.rejects(client.user.tokens.verify(), (err: unknown) => {
        assert.ok(err instanceof Cloudflare.RateLimitError);
        assert.equal(err.headers.get('retry-after'), '120');
        assert.equal(err.errors[0]?.code, 971);
        return true;
      });
      // Every endpoint is blocked, not only the one that went over.
      await assert.rejects(client.firewall.accessRules.list({ account_id: small.accountId }), Cloudflare.RateLimitError);
      assert.deepEqual(small.calls.map((c) => c.status), [200, 200, 200, 429, 429]);
      // The control API is not rate limited.
      assert.equal((await fetch(`${small.url}/__fake/calls`)).status, 200);
      small.reset();
      await client.user.tokens.verify();
    } finally {
      await small.close();
    }
  });
});

describe('injected faults', () => {
  it('rate_limit: the SDK sees a RateLimitError carrying retry-after', async () => {
    fake.injectFault({ kind: 'rate_limit', retryAfterSeconds: 7, match: { method: 'POST', pathIncludes: '/access_rules/' } });
    await cf.user.tokens.verify(); // not matched: GET
    await assert.rejects(blockIp(cf, '192.0.2.1'), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.RateLimitError);
      assert.equal(err.headers.get('retry-after'), '7');
      return true;
    });
    await blockIp(cf, '192.0.2.1'); // times defaults to 1
    assert.equal(fake.accessRules().length, 1);
  });

  it('rate_limit with retry-after 0 is retried by the SDK when retries are on', async () => {
    const retrying = new Cloudflare({ apiToken: fake.token, baseURL: fake.baseURL, maxRetries: 2, timeout: 2000 });
    fake.injectFault({ kind: 'rate_limit', retryAfterSeconds: 0, times: 1 });
    await blockIp(retrying, '192.0.2.2');
    assert.deepEqual(fake.calls.map((c) => c.status), [429, 200]);
  });

  it('server_error answers the given status and applies nothing', async () => {
    fake.injectFault({ kind: 'server_error', status: 503, times: 2 });
    for (let i = 0; i < 2; i++) await assert.rejects(blockIp(cf, '192.0.2.3'), (err: unknown) => err instanceof Cloudflare.InternalServerError && err.status === 503);
    assert.equal(fake.accessRules().length, 0);
    await blockIp(cf, '192.0.2.3');
    assert.equal(fake.callCount({ method: 'POST', pathIncludes: 'access_rules' }), 3);
  });

  it('drop_response applies the write but the client gets no answer (APIConnectionError)', async () => {
    fake.injectFault({ kind: 'drop_response', match: { method: 'POST' } });
    await assert.rejects(blockIp(cf, '192.0.2.4'), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.APIConnectionError);
      assert.ok(!(err instanceof Cloudflare.APIConnectionTimeoutError));
      return true;
    });
    assert.equal(fake.isBlocked('192.0.2.4'), true, 'the rule exists server-side');
    assert.equal(fake.calls[0]?.status, 0);
    await assert.rejects(blockIp(cf, '192.0.2.4'), (err: unknown) => err instanceof Cloudflare.BadRequestError && err.errors[0]?.code === 10009);
  });

  it('slow delays the answer past the client timeout (APIConnectionTimeoutError)', async () => {
    const impatient = new Cloudflare({ apiToken: fake.token, baseURL: fake.baseURL, maxRetries: 0, timeout: 100 });
    fake.injectFault({ kind: 'slow', delayMs: 400 });
    await assert.rejects(impatient.user.tokens.verify(), Cloudflare.APIConnectionTimeoutError);
  });

  it('success_false answers 200 with success:false and applies nothing; the SDK does not notice', async () => {
    fake.injectFault({ kind: 'success_false', match: { method: 'POST' } });
    const res = await fetch(`${fake.baseURL}/accounts/${fake.accountId}/firewall/access_rules/rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'block', configuration: { target: 'ip', value: '192.0.2.5' } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { success: boolean; result: unknown; errors: unknown[] };
    assert.equal(body.success, false);
    assert.equal(body.result, null);
    assert.equal(body.errors.length, 1);
    assert.equal(fake.accessRules().length, 0);
    fake.injectFault({ kind: 'success_false' });
    assert.equal(await blockIp(cf, '192.0.2.5'), null, 'the SDK unwraps result:null as if it were a success');
  });

  it('clearFaults removes faults that have not fired', async () => {
    fake.injectFault({ kind: 'server_error', times: 5 });
    fake.clearFaults();
    await cf.user.tokens.verify();
  });
});

describe('the /__fake control API', () => {
  it('reports blocks, counts calls by route, takes faults and shows the state', async () => {
    await blockIp(cf, '192.0.2.50');
    const blocked = (await (await fetch(`${fake.url}/__fake/blocked?ip=192.0.2.50`)).json()) as { blocked: boolean };
    assert.deepEqual(blocked, { blocked: true });
    const notBlocked = (await (await fetch(`${fake.url}/__fake/blocked?ip=192.0.2.51`)).json()) as { blocked: boolean };
    assert.deepEqual(notBlocked, { blocked: false });
    assert.equal((await fetch(`${fake.url}/__fake/blocked?ip=nonsense`)).status, 400);

    const post = await fetch(`${fake.url}/__fake/faults`, { method: 'POST', body: JSON.stringify({ kind: 'server_error', status: 502 }) });
    assert.equal(post.status, 200);
    await assert.rejects(cf.user.tokens.verify(), (err: unknown) => err instanceof Cloudflare.APIError && err.status === 502);
    await fetch(`${fake.url}/__fake/faults`, { method: 'POST', body: JSON.stringify({ kind: 'server_error' }) });
    await fetch(`${fake.url}/__fake/faults`, { method: 'DELETE' });
    await cf.user.tokens.verify();
    assert.equal((await fetch(`${fake.url}/__fake/faults`, { method: 'POST', body: '{"kind":"explode"}' })).status, 400);

    const calls = (await (await fetch(`${fake.url}/__fake/calls`)).json()) as { total: number; byRoute: Record<string, number> };
    assert.equal(calls.total, 3);
    assert.deepEqual(calls.byRoute, {
      'GET /user/tokens/verify': 2,
      'POST /accounts/{account_id}/firewall/access_rules/rules': 1,
    });

    const state = (await (await fetch(`${fake.url}/__fake/state`)).json()) as { accessRules: { account: Array<{ configuration: { value: string } }> } };
    assert.deepEqual(state.accessRules.account.map((r) => r.configuration.value), ['192.0.2.50']);
    assert.equal(fake.calls.length, 3, 'control calls are not logged');
  });
});
