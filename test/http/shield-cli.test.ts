// `edgejail site add|set --zone --host` and `edgejail shield up|down|status`, as a hosting
// admin types them, on the same database as a running service.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { attempt, signedHeaders, tempDir, ADMIN_TOKEN } from '../support/service.ts';
import { runCli, startServiceProcess } from '../support/process.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
const ZONE = 'fedcba9876543210fedcba9876543210';
const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, CLOUDFLARE_ZONE_ID: ZONE };

test('site add --zone --host and site set store a site’s zone and hostname; bad values are refused by name', () => {
  const add = runCli(['site', 'add', 'shop', '--zone', '0123456789ABCDEF0123456789abcdef', '--host', 'Shop.Example.com.', '--json'], env);
  assert.equal(add.status, 0, add.stderr);
  const { id } = JSON.parse(add.stdout);
  let [site] = JSON.parse(runCli(['site', 'list', '--json'], env).stdout);
  assert.equal(site.zone_id, '0123456789abcdef0123456789abcdef');
  assert.equal(site.hostname, 'shop.example.com');

  const set = runCli(['site', 'set', id, '--zone', 'default', '--host', 'www.example.com'], env);
  assert.equal(set.status, 0, set.stderr);
  assert.match(set.stdout, new RegExp(`zone ${ZONE}, hostname www.example.com`));
  [site] = JSON.parse(runCli(['site', 'list', '--json'], env).stdout);
  assert.equal(site.zone_id, ZONE, 'back to CLOUDFLARE_ZONE_ID');

  for (const [args, message] of [
    [['site', 'set', id, '--zone', 'example.com'], /is not a Cloudflare zone id/],
    [['site', 'set', id, '--host', 'https://shop.example.com/'], /is not a hostname/],
    [['site', 'set', id], /needs --zone/],
    [['site', 'set', 'no-such-site', '--host', 'a.example'], /no site with id no-such-site/],
    [['site', 'add', 'bad', '--host', 'x y'], /is not a hostname/],
  ] as const) {
    const r = runCli([...args], env);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.equal(JSON.parse(runCli(['site', 'list', '--json'], env).stdout).length, 1, 'a refused site add creates nothing');
  const audit = new Database(join(tmp.dir, 'edgejail.db'), { readonly: true }).prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'site_set'").get() as { n: number };
  assert.equal(audit.n, 2);
});

test('shield up / status / down from the command line', () => {
  const up = runCli(['shield', 'up', 'shop', '--for', '2h', '--reason', 'credential stuffing seen in nginx log'], env);
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /login shield up for .* \(2h\): credential stuffing seen in nginx log/);
  const [status] = JSON.parse(runCli(['shield', 'status', '--json'], env).stdout);
  assert.equal(status.up, true);
  assert.equal(status.raised_by, 'admin:cli');
  assert.match(runCli(['shield', 'status'], env).stdout, /UP since .* \(credential stuffing seen in nginx log; by admin:cli\)/);

  assert.equal(runCli(['shield', 'down', 'shop'], env).status, 0);
  const again = runCli(['shield', 'down', 'shop'], env);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is not up/);
  assert.match(runCli(['shield', 'up', 'nope'], env).stderr, /no site with id or name "nope"/);
  assert.match(runCli(['shield', 'up', 'shop', '--for', 'forever'], env).stderr, /is not a duration/);
});

test('a shield raised from the CLI reaches a running service: the plugin is told on its next batch', async () => {
  const site = JSON.parse(runCli(['site', 'add', 'live', '--json'], env).stdout);
  const svc = await startServiceProcess(env);
  try {
    const send = async () => {
      const body = JSON.stringify({ events: [attempt('203.0.113.77')] });
      return (await (await fetch(`${svc.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body })).json()) as { shield: { up: boolean; reason?: string } };
    };
    assert.equal((await send()).shield.up, false);
    assert.equal(runCli(['shield', 'up', site.id, '--reason', 'by hand'], env).status, 0);
    let answer = await send();
    for (let i = 0; i < 200 && !answer.shield.up; i++) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await send();
    }
    assert.deepEqual([answer.shield.up, answer.shield.reason], [true, 'by hand']);
    assert.equal(runCli(['shield', 'down', site.id], env).status, 0);
    for (let i = 0; i < 200 && answer.shield.up; i++) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await send();
    }
    assert.equal(answer.shield.up, false);
  } finally {
    await svc.stop();
  }
});
