// `edgejail tail` as an admin runs it: a real process following a real file until SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, runCli } from '../support/process.ts';
import { ADMIN_TOKEN, tempDir } from '../support/service.ts';

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
