// The `tail:` config section: the service follows log files itself, through the same ingest
// path as `edgejail tail`, with its offsets in SQLite, through rotation and restarts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.ts';
import { ConfigError } from '../../server/config/load.ts';
import { createConfiguredTail } from '../../server/logtail/in-service.ts';
import { addSite, ADMIN_TOKEN, tempDir, testConfig } from '../support/service.ts';
import { runCli } from '../support/process.ts';
import { failedLoginLines, until } from '../support/log-lines.ts';

const tmp = tempDir('edgejail-tail-config-');
after(() => tmp.cleanup());
const access = join(tmp.dir, 'access.log');
const auth = join(tmp.dir, 'auth.log');

const wpFail2ban = (ip: string, n: number) =>
  Array.from({ length: n }, () => `${new Date().toISOString().replace(/\.\d+Z$/, '+00:00')} web1 wordpress(blog)[42]: Authentication failure for admin from ${ip}\n`).join('');

const tailConfig = (tail: unknown) => testConfig(tmp.dir, { tail });
const build = (tail: unknown) => buildApp(tailConfig(tail), { backgroundJobs: false });
const eventsOf = (app: FastifyInstance, ip: string) => (app.core.db.prepare('SELECT count(*) AS n FROM events WHERE ip = ?').get(ip) as { n: number }).n;
const sources = () => [
  { site: 'blog', format: 'nginx', paths: [access] },
  { site: 'shop', format: 'wp-fail2ban', paths: [auth], from_start: true },
];

test('the service follows the tail: files: bans through the jails, per site, through rotation and a restart', async () => {
  // The sites exist before the service is told to follow their logs.
  const first = await buildApp(testConfig(tmp.dir), { backgroundJobs: false });
  addSite(first, 'blog');
  const shop = addSite(first, 'shop');
  await first.close();
  writeFileSync(access, failedLoginLines('198.51.100.10', 5)); // before the first start: not read (from the end)
  writeFileSync(auth, wpFail2ban('198.51.100.20', 5)); // from_start: read

  let app = await build(sources());
  await app.ready();
  try {
    await until(() => app.core.bans.currentBan('198.51.100.20') !== null);
    const event = app.core.db.prepare('SELECT site_id FROM events WHERE ip = ? LIMIT 1').get('198.51.100.20') as { site_id: string };
    assert.equal(event.site_id, shop.id, 'the lines are the named site\'s events');
    assert.equal(eventsOf(app, '198.51.100.10'), 0, 'a file met for the first time is read from its end');

    appendFileSync(access, failedLoginLines('198.51.100.11', 5));
    await until(() => app.core.bans.currentBan('198.51.100.11') !== null);
    const ban = app.core.db.prepare("SELECT jail FROM bans WHERE ip_key = '198.51.100.11'").get() as { jail: string };
    assert.equal(ban.jail, 'wordpress');

    // logrotate's rename, with lines written to the old file just before it moved.
    appendFileSync(access, failedLoginLines('198.51.100.12', 2));
    renameSync(access, `${access}.1`);
    writeFileSync(access, failedLoginLines('198.51.100.12', 3));
    await until(() => eventsOf(app, '198.51.100.12') === 5);
    // copytruncate.
    truncateSync(access, 0);
    appendFileSync(access, failedLoginLines('198.51.100.13', 1));
    await until(() => eventsOf(app, '198.51.100.13') === 1);
  } finally {
    await app.close();
  }

  // Written while the service is down: read once after the restart, nothing again.
  appendFileSync(access, failedLoginLines('198.51.100.13', 2));
  appendFileSync(auth, wpFail2ban('198.51.100.21', 1));
  app = await build(sources());
  await app.ready();
  try {
    await until(() => eventsOf(app, '198.51.100.13') === 3 && eventsOf(app, '198.51.100.21') === 1);
    assert.equal(eventsOf(app, '198.51.100.20'), 5, 'from_start applies to a file never read, not on every start');
    assert.equal(eventsOf(app, '198.51.100.12'), 5);
  } finally {
    await app.close();
  }
});

test('a tail: source naming no known site, or a path that is no file, stops start-up naming the key', async () => {
  await assert.rejects(build([{ site: 'nope', paths: [access] }]), (error: Error) => error instanceof ConfigError && /^tail\.0\.site: no site with the id or unique name "nope"/.test(error.message));
  const dir = join(tmp.dir, 'a-directory');
  mkdirSync(dir, { recursive: true });
  await assert.rejects(build([{ site: 'blog', paths: [access, dir] }]), (error: Error) => error instanceof ConfigError && error.message === `tail.0.paths.1: ${dir} is not a file`);
  // A file not there yet is waited for: the web server may create it after we start.
  const app = await build([{ site: 'blog', paths: [join(tmp.dir, 'not-yet.log')] }]);
  await app.close();
});

test('bad tail: values are refused with the key and what to write', () => {
  const message = (tail: unknown) => {
    try {
      tailConfig(tail);
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };
  assert.match(message([{ site: 'blog', paths: ['logs/access.log'] }]), /tail\.0\.paths\.0: "logs\/access\.log" is not an absolute path/);
  assert.match(message([{ site: 'blog', paths: [] }]), /tail\.0\.paths: must name at least one log file/);
  assert.match(message([{ paths: [access] }]), /tail\.0\.site: must name a site/);
  assert.match(message([{ site: 'blog', format: 'iis', paths: [access] }]), /tail\.0\.format: must be one of nginx, apache, wp-fail2ban, auto/);
  assert.match(message([{ site: 'blog', paths: [access] }, { site: 'shop', paths: [access] }]), /tail\.1\.paths\.0: ".*access\.log" is already followed by tail\.0/);
  assert.match(message([{ site: 'blog', path: [access] }]), /tail\.0: Unrecognized key: "path"/);
  assert.match(message([{ site: 'blog', paths: [access], trusted_peers: ['localhost'] }]), /tail\.0\.trusted_peers\.0: must be an IP address or CIDR range/);
  assert.match(message({ site: 'blog' }), /tail: must be a list of \{site, format, paths\}/);
  assert.deepEqual(tailConfig([{ site: 'blog', paths: [access] }]).tail, [{ site: 'blog', format: 'auto', paths: [access], trusted_peers: [], from_start: false }]);
});

test('edgejail tail refuses a file the service follows itself (tail: in the config)', () => {
  const configFile = join(tmp.dir, 'edgejail.json');
  writeFileSync(configFile, JSON.stringify({ tail: [{ site: 'blog', paths: [access] }] }));
  const r = runCli(['tail', '--site', 'blog', access], { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, EDGEJAIL_CONFIG: configFile });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is followed by the service itself \(tail\.0 in the config\): running both would count its lines twice/);
});

test("while the WAL checkpoint holds the commits, the service's tail reads nothing; on release it goes on", async () => {
  const app = await build([]);
  await app.ready();
  const log = join(tmp.dir, 'held.log');
  writeFileSync(log, '');
  const tail = createConfiguredTail(app.core, [{ site: 'blog', format: 'nginx', paths: [log], trusted_peers: [], from_start: true }], { info: () => {}, warn: () => {} });
  try {
    tail.start();
    appendFileSync(log, failedLoginLines('198.51.100.40', 1));
    await until(() => eventsOf(app, '198.51.100.40') === 1);
    const release = tail.hold();
    appendFileSync(log, failedLoginLines('198.51.100.41', 2));
    // Several of its polls (250 ms apart) come and go while held: no line is committed.
    const heldUntil = Date.now() + 800;
    await until(() => Date.now() > heldUntil);
    assert.equal(eventsOf(app, '198.51.100.41'), 0);
    release();
    release(); // a second release is ignored
    await until(() => eventsOf(app, '198.51.100.41') === 2);
  } finally {
    tail.stop();
    await app.close();
  }
});
