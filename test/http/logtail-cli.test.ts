// `edgejail tail` as an admin runs it: a real process following a real file until SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, runCli, startServiceProcess } from '../support/process.ts';
import { ADMIN_TOKEN, attempt, signedHeaders, tempDir } from '../support/service.ts';
import { startFakeCloudflare } from '../fake-cloudflare/server.ts';
import { failedLoginLines, until } from '../support/log-lines.ts';

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, '+00:00');

test('edgejail tail follows a WP fail2ban log, bans through the jails, stops on SIGTERM with its offset saved', { timeout: 300_000 }, async () => {
  const tmp = tempDir('edgejail-tail-');
  const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, EDGEJAIL_CONFIG: '' };
  try {
    const site = runCli(['site', 'add', 'blog', '--json'], env);
    assert.equal(site.status, 0, site.stderr);
    const log = join(tmp.dir, 'auth.log');
    writeFileSync(log, '');
    const bad = runCli(['tail', '--site', 'nope', log], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no site with the id or unique name "nope"/);

    const child = spawn(process.execPath, ['server/bin/edgejail.js', 'tail', '--site', 'blog', '--format', 'wp-fail2ban', log], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    while (!out.includes('following 1 file')) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 5; i++) appendFileSync(log, `${stamp()} web1 wordpress(blog)[42]: Authentication failure for admin from 203.0.113.77\n`);

    const db = new Database(join(tmp.dir, 'edgejail.db'), { readonly: true });
    try {
      const banned = () => db.prepare("SELECT jail FROM bans WHERE ip_key = ? AND state = 'active'").get('203.0.113.77') as { jail: string } | undefined;
      while (!banned()) await new Promise((r) => setTimeout(r, 100));
      assert.equal(banned()!.jail, 'wordpress');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      assert.match(out, /stopped: 5 lines, 5 events, 1 bans/);
      const saved = db.prepare('SELECT offset FROM log_offsets WHERE path = ?').get(log) as { offset: number };
      assert.ok(saved.offset > 0);
    } finally {
      db.close();
    }
  } finally {
    tmp.cleanup();
  }
});


test('a separate edgejail tail and the running service follow each other\'s bans: the origin is told, Cloudflare blocks, nobody bans twice', { timeout: 300_000 }, async () => {
  const tmp = tempDir('edgejail-tail-sync-');
  const fake = await startFakeCloudflare();
  const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, EDGEJAIL_CONFIG: '' };
  const serviceEnv = { ...env, CLOUDFLARE_API_TOKEN: fake.token, CLOUDFLARE_ZONE_ID: fake.zoneId, CLOUDFLARE_BASE_URL: fake.baseURL };
  const site = JSON.parse(runCli(['site', 'add', 'blog', '--json'], env).stdout) as { id: string; secret: string };
  const svc = await startServiceProcess(serviceEnv);
  const log = join(tmp.dir, 'access.log');
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['server/bin/edgejail.js', 'tail', '--site', 'blog', '--format', 'nginx', log], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const db = new Database(join(tmp.dir, 'edgejail.db'), { readonly: true });
  const bansOf = (ip: string) => db.prepare('SELECT jail FROM bans WHERE ip_key = ?').all(ip) as Array<{ jail: string }>;
  const eventsOf = (ip: string) => (db.prepare('SELECT count(*) AS n FROM events WHERE ip = ?').get(ip) as { n: number }).n;
  // A user_enumeration is counted by no default jail: asking with it changes nothing it asks about.
  const post = async (ip: string, n = 1, type = 'login_failed') => {
    const body = JSON.stringify({ events: Array.from({ length: n }, () => attempt(ip, { type })) });
    const res = await fetch(`${svc.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body });
    assert.equal(res.status, 200);
    return (await res.json()) as { decisions: Array<{ ip: string; jail: string }> };
  };
  try {
    await until(() => out.includes('following 1 file'));

    // The service has seen this address and holds "not banned" for it in its lookup.
    const fromLog = '203.0.113.81';
    assert.deepEqual((await post(fromLog, 1, 'user_enumeration')).decisions, []);
    appendFileSync(log, failedLoginLines(fromLog, 5));
    await until(() => bansOf(fromLog).length > 0);
    assert.deepEqual(bansOf(fromLog), [{ jail: 'wordpress' }], 'the tail process banned it, in SQLite');
    // The service names the ban in its answer (the plugin's origin 403 cache) and sends it to Cloudflare.
    await until(async () => (await post(fromLog, 1, 'user_enumeration')).decisions.some((d) => d.ip === fromLog && d.jail === 'wordpress'));
    await until(() => fake.isBlocked(fromLog));
    // Its jails know the ban: five more failures at the service make no second one.
    await post(fromLog, 5);
    assert.equal(bansOf(fromLog).length, 1);

    // The other way round: a ban the service made is not made again by the tail process.
    const fromPlugin = '203.0.113.82';
    await post(fromPlugin, 5);
    assert.equal(bansOf(fromPlugin).length, 1, 'the service banned it');
    appendFileSync(log, failedLoginLines(fromPlugin, 5));
    await until(() => eventsOf(fromPlugin) === 10);
    assert.equal(bansOf(fromPlugin).length, 1, 'the tail process counted the lines and knew the ban');
  } finally {
    db.close();
    child.kill('SIGTERM');
    await exited;
    await svc.stop();
    await fake.close();
    tmp.cleanup();
  }
});
