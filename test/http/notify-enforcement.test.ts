// Enforcement failing, end to end: the real enforcer and SDK against the fake Cloudflare
// API, the Cloudflare calls it records, and the notifier reading them. A short failure is
// not worth a message; failing past enforcement_failing_after is, and so is its end.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../../server/app.ts';
import { attempt, addSite, signedHeaders, tempDir, testConfig } from '../support/service.ts';
import { startWebhookSink } from '../support/notify-sinks.ts';
import { startFakeCloudflare } from '../fake-cloudflare/server.ts';
import { waitFor } from '../e2e/support/poll.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(token?: string) {
  const fake = await startFakeCloudflare();
  const hook = await startWebhookSink();
  const tmp = tempDir();
  writeFileSync(join(tmp.dir, 'hook-secret'), 'enforcement-hook-secret');
  const clock = { ms: Date.now() - 3600_000 };
  const config = testConfig(
    tmp.dir,
    { notify: { min_interval: '15m', enforcement_failing_after: '5m', webhooks: [{ url: hook.url(), secret_file: join(tmp.dir, 'hook-secret') }] } },
    { CLOUDFLARE_API_TOKEN: token ?? fake.token, CLOUDFLARE_ACCOUNT_ID: fake.accountId, CLOUDFLARE_BASE_URL: fake.baseURL },
  );
  const app = await buildApp(config, { backgroundJobs: false, now: () => clock.ms });
  await app.ready();
  const site = addSite(app, 'shop');
  cleanups.push(() => tmp.cleanup(), () => fake.close(), () => hook.close(), () => app.close());
  const calls = () => (app.core.db.prepare('SELECT count(*) AS n FROM cloudflare_actions').get() as { n: number }).n;
  /** Moves the clock on, lets the enforcer retry whatever is due, and waits for its call. */
  const retryLater = async (ms: number) => {
    const before = calls();
    clock.ms += ms;
    app.enforcer.wake();
    await waitFor('the enforcer to call Cloudflare again', () => calls() > before, { timeoutMs: 30_000 });
  };
  const ban = async (ip: string) => {
    const body = JSON.stringify({ events: Array.from({ length: 5 }, () => attempt(ip, { occurred_at: new Date(clock.ms).toISOString() })) });
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clock.ms / 1000)), payload: body });
    assert.equal(res.json().decisions.length, 1, res.body);
  };
  return { app, fake, hook, clock, calls, retryLater, ban };
}

const items = (body: string) => (JSON.parse(body) as { items: Array<{ kind: string; status: string; summary: string; detail: Record<string, unknown> }> }).items;

test('Cloudflare answering 503 for longer than enforcement_failing_after is one alert, and its recovery one "resolved"', async () => {
  const { app, fake, hook, clock, calls, retryLater, ban } = await setup();
  fake.injectFault({ kind: 'server_error', status: 503, times: 1000 });
  await ban('203.0.113.50');
  await waitFor('the first failed call', () => calls() > 0, { timeoutMs: 30_000 });
  await retryLater(2 * 60_000);
  app.notifier.tick();
  await retryLater(2 * 60_000);
  app.notifier.tick();
  await app.notifier.idle();
  assert.equal(hook.requests.length, 0, 'failing for 4 minutes is not yet worth a message');

  await retryLater(2 * 60_000);
  app.notifier.tick();
  await hook.waitFor(1);
  const [alert] = items(hook.requests[0]!.body);
  assert.equal(alert!.kind, 'enforcement_failing');
  assert.equal(alert!.status, 'firing');
  assert.match(alert!.summary, /^enforcement at Cloudflare is failing: Cloudflare calls keep failing \(5xx/);
  assert.equal(alert!.detail.last_status, 503);

  fake.clearFaults();
  await retryLater(10 * 60_000);
  await waitFor('the ban to reach Cloudflare', () => fake.isBlocked('203.0.113.50'), { timeoutMs: 30_000 });
  clock.ms += 6 * 60_000;
  app.notifier.tick();
  await hook.waitFor(2);
  const [resolved] = items(hook.requests[1]!.body);
  assert.deepEqual([resolved!.kind, resolved!.status, resolved!.summary], ['enforcement_failing', 'resolved', 'enforcement at Cloudflare works again']);
});

test('a token Cloudflare refuses (403) is named as such once it has failed for enforcement_failing_after', async () => {
  const { app, hook, calls, retryLater, ban } = await setup('not-the-right-token');
  await ban('203.0.113.51');
  await waitFor('the first refused call', () => calls() > 0, { timeoutMs: 30_000 });
  await retryLater(6 * 60_000);
  app.notifier.tick();
  await hook.waitFor(1);
  const [alert] = items(hook.requests[0]!.body);
  assert.equal(alert!.detail.cause, 'token_refused');
  assert.match(alert!.summary, /Cloudflare refuses the API token \(HTTP 401\/403\)/);
});
