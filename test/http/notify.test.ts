// Alerts through the real service on real SQLite, to real listeners: a signed JSON webhook,
// a Slack-style hook whose URL carries its token, and an SMTP relay with a login. A storm
// of bans is one digest per channel per min_interval; a shield going up and down is an
// alert and a "resolved"; a failing hook is retried; every message is an audit row with
// no secret in it.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { buildApp } from '../../server/app.ts';
import { attempt, addSite, signedHeaders, tempDir, testConfig, type TestSite } from '../support/service.ts';
import { startSmtpSink, startWebhookSink, type ReceivedRequest } from '../support/notify-sinks.ts';
import { waitFor } from '../e2e/support/poll.ts';
import type { FastifyInstance } from 'fastify';

const HOOK_SECRET = 'hook-secret-4f8a1c2e9b7d6053';
const SMTP_PASS = 'smtp-pass-9c1e55aa';
const SLACK_PATH = '/services/T0001/B0002/SlackTokenXyz123?token=abc987';
const FAST_RETRY = { attempts: 4, baseMs: 5, maxMs: 20 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(options: { jsonAnswer?: Parameters<typeof startWebhookSink>[0] } = {}) {
  const tmp = tempDir();
  const json = await startWebhookSink(options.jsonAnswer);
  const slack = await startWebhookSink();
  const smtp = await startSmtpSink({ user: 'edgejail', pass: SMTP_PASS });
  writeFileSync(join(tmp.dir, 'hook-secret'), `${HOOK_SECRET}\n`);
  writeFileSync(join(tmp.dir, 'smtp-pass'), `${SMTP_PASS}\n`);
  const clock = { ms: Date.now() - 3 * 3600_000 };
  const config = testConfig(tmp.dir, {
    // This loaded test machine must not shed the storm: shedding has its own tests.
    overload: { max_queue_delay_ms: 60_000, max_event_loop_delay_ms: 60_000 },
    notify: {
      min_interval: '15m',
      webhooks: [
        { url: json.url('/edgejail'), secret_file: join(tmp.dir, 'hook-secret'), format: 'json' },
        { url: slack.url(SLACK_PATH), format: 'slack' },
      ],
      smtp: { host: '127.0.0.1', port: smtp.port, starttls: false, user: 'edgejail', password_file: join(tmp.dir, 'smtp-pass'), from: 'edgejail@example.test', to: ['admin@example.test'] },
    },
  });
  const app = await buildApp(config, { backgroundJobs: false, now: () => clock.ms, notifyRetry: FAST_RETRY });
  await app.ready();
  const site = addSite(app, 'blog');
  cleanups.push(() => tmp.cleanup(), () => json.close(), () => slack.close(), () => smtp.close(), () => app.close());
  return { app, json, slack, smtp, clock, site, config };
}

function verifySignature(request: ReceivedRequest): void {
  const ts = request.headers['x-edgejail-timestamp'] as string;
  const expected = createHmac('sha256', HOOK_SECRET).update(`${ts}.${request.body}`).digest('hex');
  assert.equal(request.headers['x-edgejail-signature'], `sha256=${expected}`);
}

let ipSeq = 0;
const nextIp = () => {
  const i = ipSeq++;
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
};

/** `ips` fresh addresses × 5 wrong passwords: each crosses the wordpress jail's maxretry once. */
async function banMany(app: FastifyInstance, site: TestSite, clockMs: number, ips: number) {
  const events: Array<Record<string, unknown>> = [];
  for (let i = 0; i < ips; i++) {
    const ip = nextIp();
    for (let k = 0; k < 5; k++) events.push(attempt(ip, { occurred_at: new Date(clockMs).toISOString() }));
  }
  let banned = 0;
  for (let i = 0; i < events.length; i += 500) {
    const body = JSON.stringify({ events: events.slice(i, i + 500) });
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clockMs / 1000)), payload: body });
    assert.equal(res.statusCode, 200, res.body);
    banned += res.json().decisions.length;
  }
  return banned;
}

const notifyAudit = (app: FastifyInstance) =>
  app.core.db.prepare("SELECT actor, action, detail FROM audit_log WHERE action LIKE 'notify%' ORDER BY id").all() as Array<{ actor: string; action: string; detail: string }>;

test('a storm of 500 bans is one digest per channel per min_interval, each saying how many; signed, and no secret in the audit', async () => {
  const { app, json, slack, smtp, clock, site } = await setup();
  const stormStart = clock.ms;
  // The ticker runs through the storm: 5 waves of 100 bans a minute apart, a tick after each.
  for (let wave = 0; wave < 5; wave++) {
    assert.equal(await banMany(app, site, clock.ms, 100), 100);
    app.notifier.tick();
    clock.ms += 60_000;
  }
  await app.notifier.idle();
  assert.equal(json.requests.length + slack.requests.length + smtp.mails.length, 0, 'bans are gathered for a whole min_interval');

  clock.ms = stormStart + 15 * 60_000;
  app.notifier.tick();
  await Promise.all([json.waitFor(1), slack.waitFor(1), smtp.waitFor(1)]);

  // The storm goes on: 50 more bans soon after are held for the next interval.
  clock.ms += 60_000;
  assert.equal(await banMany(app, site, clock.ms, 50), 50);
  app.notifier.tick();
  await app.notifier.idle();
  assert.equal(json.requests.length, 1, 'at most one digest per min_interval');
  clock.ms = stormStart + 31 * 60_000; // a whole interval after the 50 began
  app.notifier.tick();
  await Promise.all([json.waitFor(2), slack.waitFor(2), smtp.waitFor(2)]);
  clock.ms += 60 * 60_000;
  app.notifier.tick();
  await app.notifier.idle();
  assert.equal(json.requests.length, 2);
  assert.equal(slack.requests.length, 2);
  assert.equal(smtp.mails.length, 2);

  const digests = json.requests.map((r) => JSON.parse(r.body));
  const banLines = digests.map((d) => d.items.filter((i: { kind: string }) => i.kind === 'bans'));
  assert.deepEqual(banLines.map((lines) => lines.length), [1, 1], 'one deduplicated line of bans per digest');
  assert.deepEqual(banLines.map((lines) => lines[0].count), [500, 50]);
  assert.equal(banLines[0][0].detail.by_jail.wordpress, 500);
  assert.equal(digests[1].type, 'edgejail.digest');
  assert.match(banLines[0][0].summary, /^500 new bans \(wordpress 500\), e\.g\. 198\.18\./);
  for (const r of json.requests) {
    verifySignature(r);
    assert.equal(r.path, '/edgejail');
    assert.equal(r.headers['content-type'], 'application/json');
  }

  assert.equal(slack.requests[0]!.path, SLACK_PATH);
  const text = JSON.parse(slack.requests[0]!.body).text as string;
  assert.match(text, /500 new bans/);
  assert.equal(slack.requests[0]!.headers['x-edgejail-signature'], undefined, 'a Slack hook is not signed');

  assert.equal(smtp.mails[0]!.user, 'edgejail', 'the relay saw our login');
  assert.deepEqual(smtp.mails[0]!.to, ['admin@example.test']);
  assert.equal(smtp.mails[0]!.from, 'edgejail@example.test');
  assert.match(smtp.mails[0]!.subject, /^EdgeJail summary: 500 new bans/);
  assert.match(smtp.mails[0]!.raw, /\[info\] 500 new bans/);
  assert.match(smtp.mails[1]!.subject, /^EdgeJail summary: 50 new bans/);

  const rows = notifyAudit(app);
  assert.equal(rows.length, 6, 'one audit row per message per channel');
  assert.ok(rows.every((r) => r.action === 'notify_sent' && r.actor === 'notify'));
  const channels = new Set(rows.map((r) => JSON.parse(r.detail).channel));
  assert.deepEqual([...channels].sort(), [
    `smtp 127.0.0.1:${smtp.port} to admin@example.test`,
    `webhook#1 (json) ${json.url('/…').replace('/…', '')}/…`,
    `webhook#2 (slack) ${slack.url('/…').replace('/…', '')}/…`,
  ].sort());
  const everything = JSON.stringify(app.core.db.prepare('SELECT * FROM audit_log').all());
  for (const secret of [HOOK_SECRET, SMTP_PASS, 'SlackTokenXyz123', 'abc987', '/edgejail']) assert.ok(!everything.includes(secret), `the audit log holds ${secret}`);
});

test('a login shield going up is an alert at once; coming down is a "resolved" message after min_interval', async () => {
  const { app, json, slack, smtp, clock, site } = await setup();
  app.core.shield.raise(site.id, { durationSeconds: 600, reason: 'test attack: 312 failures from 211 IPs', actor: 'admin:api' });
  await json.waitFor(1); // the shield change wakes the notifier: no tick needed
  await Promise.all([slack.waitFor(1), smtp.waitFor(1)]);
  const up = JSON.parse(json.requests[0]!.body);
  assert.equal(up.items.length, 1);
  assert.deepEqual({ kind: up.items[0].kind, status: up.items[0].status, site: up.items[0].site }, { kind: 'shield_up', status: 'firing', site: { id: site.id, name: 'blog' } });
  assert.match(up.items[0].summary, /^login shield up at blog: test attack: 312 failures from 211 IPs/);
  assert.match(smtp.mails[0]!.subject, /^EdgeJail 1 alert: login shield up at blog/);

  clock.ms += 60_000;
  app.core.shield.lower(site.id, 'admin:api');
  app.notifier.tick();
  app.notifier.tick();
  await app.notifier.idle();
  assert.equal(json.requests.length, 1, 'the resolved message waits for min_interval');

  clock.ms += 15 * 60_000;
  app.notifier.tick();
  await Promise.all([json.waitFor(2), slack.waitFor(2), smtp.waitFor(2)]);
  const down = JSON.parse(json.requests[1]!.body);
  assert.deepEqual(down.items.map((i: { kind: string; status: string }) => `${i.kind}:${i.status}`), ['shield_up:resolved']);
  assert.match(down.items[0].summary, /^login shield down at blog/);
  assert.match(JSON.parse(slack.requests[1]!.body).text, /\[resolved\] login shield down at blog/);
  assert.match(smtp.mails[1]!.subject, /^EdgeJail 1 resolved: login shield down at blog/);

  clock.ms += 30 * 60_000;
  app.notifier.tick();
  await app.notifier.idle();
  assert.equal(json.requests.length, 2, 'nothing new: nothing sent');
});

test('a failing webhook is retried with backoff until it takes the message; the other channels are not held up', async () => {
  const { app, json, slack, smtp } = await setup({ jsonAnswer: { answer: (i) => (i < 2 ? { status: 503 } : { status: 200 }) } });
  const outcomes = await app.notifier.sendTest();
  assert.deepEqual(outcomes.map((o) => `${o.channel.kind}:${o.status}:${o.attempts}`).sort(), ['smtp:sent:1', 'webhook_json:sent:3', 'webhook_slack:sent:1']);
  assert.equal(json.requests.length, 3);
  const ids = json.requests.map((r) => JSON.parse(r.body).id);
  assert.equal(new Set(ids).size, 1, 'the same message, retried');
  json.requests.forEach(verifySignature);
  assert.equal(JSON.parse(json.requests[2]!.body).type, 'edgejail.test');
  assert.equal(slack.requests.length, 1);
  assert.match(smtp.mails[0]!.subject, /^EdgeJail test message/);
  const sent = notifyAudit(app).map((r) => JSON.parse(r.detail)).find((d) => d.channel_kind === 'webhook_json');
  assert.equal(sent.attempts, 3);
});

test('a webhook that refuses for good (404) is not retried, and is audited as failed without its URL', async () => {
  const { app, json } = await setup({ jsonAnswer: { answer: () => ({ status: 404 }) } });
  const outcomes = await app.notifier.sendTest();
  const failed = outcomes.find((o) => o.channel.kind === 'webhook_json')!;
  assert.equal(failed.status, 'failed');
  assert.equal(failed.attempts, 1);
  assert.equal(json.requests.length, 1);
  const row = notifyAudit(app).find((r) => r.action === 'notify_failed')!;
  assert.match(JSON.parse(row.detail).error, /^HTTP 404/);
  assert.ok(!row.detail.includes('/edgejail'));
});

test('a channel that never answers holds up neither ingest nor the other channels', async () => {
  const { app, json, slack, smtp, site, clock } = await setup({ jsonAnswer: { answer: () => 'hang' } });
  void app.notifier.sendTest();
  await Promise.all([json.waitFor(1), slack.waitFor(1), smtp.waitFor(1)]);
  // The other two channels record their outcome just after their receiver has the message.
  while (notifyAudit(app).length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(notifyAudit(app).map((r) => r.action), ['notify_sent', 'notify_sent']);
  const body = JSON.stringify({ events: [attempt('203.0.113.9', { occurred_at: new Date(clock.ms).toISOString() })] });
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clock.ms / 1000)), payload: body });
  assert.equal(res.statusCode, 200);
  assert.equal(app.notifier.pending(), 1, 'only the hanging channel still holds its message');
});

test('the service shedding load is an alert, from the overload hooks\' own count; it resolves once 5 minutes pass without a shed', async () => {
  const tmp = tempDir();
  const json = await startWebhookSink();
  writeFileSync(join(tmp.dir, 'hook-secret'), HOOK_SECRET);
  const clock = { ms: Date.now() - 3600_000 };
  // An RSS budget this process is always over: every request past the first sample is shed.
  const config = testConfig(tmp.dir, { overload: { max_rss_mb: 32 }, notify: { min_interval: '10m', webhooks: [{ url: json.url(), secret_file: join(tmp.dir, 'hook-secret') }] } });
  const app = await buildApp(config, { backgroundJobs: false, now: () => clock.ms, notifyRetry: FAST_RETRY });
  await app.ready();
  cleanups.push(() => tmp.cleanup(), () => json.close(), () => app.close());
  await waitFor('a request to be shed', async () => (await app.inject({ method: 'GET', url: '/healthz' })).statusCode === 503, { timeoutMs: 30_000 });
  app.notifier.tick();
  await json.waitFor(1);
  const [alert] = JSON.parse(json.requests[0]!.body).items;
  assert.equal(alert.kind, 'shedding');
  assert.match(alert.summary, /^the service is shedding load: \d+ requests? refused with 429\/503 in the last 5 min \(rssBytes \d+\); the plugins spool and retry$/);

  clock.ms += 11 * 60_000; // no request meanwhile: nothing shed
  app.notifier.tick();
  await json.waitFor(2);
  assert.equal(JSON.parse(json.requests[1]!.body).items[0].status, 'resolved');
});

test('after a restart, a shield still up is not announced again, and its coming down still gets its "resolved"', async () => {
  const { app, json, clock, site, config } = await setup();
  app.core.shield.raise(site.id, { durationSeconds: 3600, reason: 'before the restart', actor: 'admin:api' });
  await json.waitFor(1);
  await app.notifier.idle();
  await app.close();

  clock.ms += 20 * 60_000;
  const again = await buildApp(config, { backgroundJobs: false, now: () => clock.ms, notifyRetry: FAST_RETRY });
  await again.ready();
  cleanups.push(() => again.close());
  again.notifier.tick();
  await again.notifier.idle();
  assert.equal(json.requests.length, 1, 'the shield still up was told before the restart');

  again.core.shield.lower(site.id, 'admin:api');
  again.notifier.tick();
  await json.waitFor(2);
  const [line] = JSON.parse(json.requests[1]!.body).items;
  assert.deepEqual([line.kind, line.status, line.summary], ['shield_up', 'resolved', 'login shield down at blog: the attack has stopped']);
});
