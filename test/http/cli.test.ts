import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { attempt, signedHeaders, tempDir, ADMIN_TOKEN } from '../support/service.ts';
import { freePort, runCli, startServiceProcess } from '../support/process.ts';
import { startFakeCloudflare } from '../fake-cloudflare/server.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
// A port of its own: `status` asks whatever answers on the configured port, and 8787 may be
// taken by anything on the machine, another test included.
const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, EDGEJAIL_PORT: String(await freePort()) };

test('site add --json prints exactly id and secret; list and errors never show a secret', () => {
  const add = runCli(['site', 'add', 'blog', '--json'], env);
  assert.equal(add.status, 0, add.stderr);
  const site = JSON.parse(add.stdout);
  assert.deepEqual(Object.keys(site), ['id', 'secret']);
  assert.ok(Buffer.from(site.secret, 'hex').length >= 32);
  const list = runCli(['site', 'list', '--json'], env);
  assert.ok(list.stdout.includes(site.id));
  assert.ok(!list.stdout.includes(site.secret));
  const rotated = JSON.parse(runCli(['site', 'rotate-secret', site.id, '--json'], env).stdout);
  assert.notEqual(rotated.secret, site.secret);
  const audit = new Database(join(tmp.dir, 'edgejail.db'), { readonly: true }).prepare('SELECT group_concat(detail) AS d FROM audit_log').get() as { d: string };
  assert.ok(!audit.d?.includes(site.secret) && !audit.d?.includes(rotated.secret), 'the audit log never holds a secret');
  assert.equal(runCli(['site', 'remove', 'no-such-site'], env).status, 1);
});

test('ban, bans, history, unban and status from the command line', () => {
  const ban = runCli(['ban', '203.0.113.9', '--for', '2h', '--reason', 'seen in nginx log'], env);
  assert.equal(ban.status, 0, ban.stderr);
  assert.match(ban.stdout, /^banned 203\.0\.113\.9 until /);
  const bans = JSON.parse(runCli(['bans', '--json'], env).stdout);
  assert.equal(bans[0].ip_key, '203.0.113.9');
  assert.equal(bans[0].reason, 'seen in nginx log');
  assert.equal(bans[0].cloudflare, 'pending', 'no service has processed the outbox yet');
  const history = JSON.parse(runCli(['history', '203.0.113.9', '--json'], env).stdout);
  assert.equal(history.bans.length, 1);
  assert.equal(runCli(['unban', '203.0.113.9'], env).status, 0);
  assert.equal(runCli(['unban', '203.0.113.9'], env).status, 1);
  assert.equal(runCli(['ban', '127.0.0.1'], env).status, 1, 'loopback is never banned');
  const badDuration = runCli(['ban', '203.0.113.9', '--for', 'forever'], env);
  assert.equal(badDuration.status, 1);
  assert.match(badDuration.stderr, /not a duration/);
  const status = JSON.parse(runCli(['status', '--json'], env).stdout);
  assert.equal(status.bans.lifted, 1);
});

test('a ban from the CLI reaches a running service within a second', async () => {
  const site = JSON.parse(runCli(['site', 'add', 'live', '--json'], env).stdout);
  const svc = await startServiceProcess(env);
  try {
    assert.equal(runCli(['ban', '198.51.100.200', '--for', '1h'], env).status, 0);
    // The service's decisions for this IP name the manual ban once it has picked it up.
    for (;;) {
      const body = JSON.stringify({ events: [attempt('198.51.100.200', { username: 'x' })] });
      const res = await (await fetch(`${svc.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body })).json();
      if (res.decisions.some((d: { jail: string }) => d.jail === 'manual')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await svc.stop();
  }
});

test('purge deletes events past retention and keeps bans', () => {
  const db = new Database(join(tmp.dir, 'edgejail.db'));
  const siteId = (db.prepare('SELECT id FROM sites LIMIT 1').get() as { id: string }).id;
  const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
  const insert = db.prepare(`INSERT INTO events (id, site_id, type, ip, ip_key, weight, occurred_at, received_at) VALUES (?, ?, 'login_failed', '192.0.2.1', '192.0.2.1', 1, ?, ?)`);
  for (let i = 0; i < 7; i++) insert.run(crypto.randomUUID(), siteId, old, old);
  const bansBefore = (db.prepare('SELECT count(*) AS n FROM bans').get() as { n: number }).n;
  db.close();
  const purge = runCli(['purge', '--older-than', '30d'], env);
  assert.equal(purge.status, 0, purge.stderr);
  assert.match(purge.stdout, /^purged 7 events/);
  const after = new Database(join(tmp.dir, 'edgejail.db'), { readonly: true });
  assert.equal((after.prepare("SELECT count(*) AS n FROM events WHERE ip = '192.0.2.1'").get() as { n: number }).n, 0);
  assert.equal((after.prepare('SELECT count(*) AS n FROM bans').get() as { n: number }).n, bansBefore);
  after.close();
});

test('status asks the running service, in its own words; with none it says the figures are local', async () => {
  const own = tempDir();
  const fake = await startFakeCloudflare();
  // No EDGEJAIL_ADMIN_TOKEN: the service generates one into the data dir and the CLI reads it there.
  const cliEnv = { EDGEJAIL_DATA_DIR: own.dir };
  const serviceEnv = { ...cliEnv, CLOUDFLARE_API_TOKEN: fake.token, CLOUDFLARE_ZONE_ID: fake.zoneId, CLOUDFLARE_BASE_URL: fake.baseURL };
  const svc = await startServiceProcess(serviceEnv);
  try {
    const port = new URL(svc.url).port;
    const here = { ...cliEnv, EDGEJAIL_PORT: port };
    const site = JSON.parse(runCli(['site', 'add', 'status-blog', '--json'], here).stdout);
    const events = Array.from({ length: 5 }, () => attempt('203.0.113.77'));
    const body = JSON.stringify({ events });
    const res = await fetch(`${svc.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body });
    assert.equal(res.status, 200);

    const status = runCli(['status'], here);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^service\\s+running at http://127\\.0\\.0\\.1:${port}$`, 'm'));
    assert.match(status.stdout, /^cloudflare\s+enforcing, access_rules backend/m, 'the service enforces, whatever this shell has');
    assert.match(status.stdout, /^bans\s+1 active$/m);
    assert.doesNotMatch(status.stdout, /[{}]/, 'formatted, not raw JSON');
    const json = JSON.parse(runCli(['status', '--json'], here).stdout);
    assert.equal(json.source, 'service');
    assert.equal(json.cloudflare.mode, 'enforcing');

    const bans = JSON.parse(runCli(['bans', '--json'], here).stdout);
    assert.deepEqual([...bans[0].trigger_event_ids].sort(), events.map((e) => e.id).sort(), 'trigger_event_ids is a JSON array');
    const history = runCli(['history', '203.0.113.77'], here);
    assert.match(history.stdout, /login_failed\s+status-blog\s+admin/, 'events name their site');
    assert.ok(!history.stdout.includes(site.id));
  } finally {
    await svc.stop();
    await fake.close();
  }
  try {
    const local = runCli(['status'], { ...cliEnv, EDGEJAIL_PORT: String(await freePort()) });
    assert.equal(local.status, 0, local.stderr);
    assert.match(local.stdout, /^note: could not ask the service at http:\/\/127\.0\.0\.1:\d+ \(no service is listening there\); these figures come from the database/);
    assert.match(local.stdout, /^cloudflare\s+dry-run \(no CLOUDFLARE_API_TOKEN in this shell\)$/m);
    assert.match(local.stdout, /^bans\s+1 active$/m);
  } finally {
    own.cleanup();
  }
});
