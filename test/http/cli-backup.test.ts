// `edgejail backup` while the service takes signed events, and the way back: every event
// acknowledged before the backup began is in the copy, and a service started on the
// copy knows the sites, their secrets and the events.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { attempt, signedHeaders, tempDir, ADMIN_TOKEN } from '../support/service.ts';
import { ROOT, runCli, startServiceProcess } from '../support/process.ts';

const tmp = tempDir();
after(() => tmp.cleanup());

function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['server/bin/edgejail.js', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

test('a backup taken during writes holds everything acknowledged before it, and restores', async () => {
  const live = { EDGEJAIL_DATA_DIR: join(tmp.dir, 'live'), EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN };
  const site = JSON.parse(runCli(['site', 'add', 'backed-up', '--json'], live).stdout) as { id: string; secret: string };
  const svc = await startServiceProcess(live);
  const acknowledged: string[] = [];
  let writing = true;
  let batch = 0;
  const writer = (async () => {
    while (writing) {
      // Each batch from its own addresses: 5 failures per IP per batch would ban, and bans are writes too.
      const events = Array.from({ length: 20 }, (_, i) => attempt(`198.18.${batch % 250}.${i + 1}`));
      batch++;
      const body = JSON.stringify({ events });
      const res = await fetch(`${svc.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body });
      if (res.status === 200) acknowledged.push(...events.map((e) => e.id));
      await res.arrayBuffer();
    }
  })();
  const backupFile = join(tmp.dir, 'edgejail-backup.db');
  let before: string[];
  let during: number;
  try {
    while (acknowledged.length < 200) await new Promise((r) => setTimeout(r, 10));
    before = [...acknowledged];
    const backup = await runCliAsync(['backup', backupFile], live);
    during = acknowledged.length - before.length;
    assert.equal(backup.status, 0, backup.stderr);
    assert.match(backup.stdout, /^backed up .* to .*edgejail-backup\.db \([\d.]+ MB: 1 sites, \d+ events, \d+ bans; integrity ok\)$/m);
  } finally {
    writing = false;
    await writer;
    await svc.stop();
  }
  assert.ok(during > 0, 'the service kept acknowledging events while the backup ran');
  assert.equal(statSync(backupFile).mode & 0o777, 0o600, 'the copy holds site secrets: owner only');

  const copy = new Database(backupFile, { readonly: true });
  assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
  const inCopy = new Set((copy.prepare('SELECT id FROM events').all() as Array<{ id: string }>).map((r) => r.id));
  copy.close();
  const lost = before.filter((id) => !inCopy.has(id));
  assert.deepEqual(lost, [], 'every event acknowledged before the backup began is in it');

  const again = runCli(['backup', backupFile], live);
  assert.equal(again.status, 1, 'an existing file is not overwritten');
  assert.match(again.stderr, /exists; add --force/);

  // The way back, as the README says: the copy in place of edgejail.db, no -wal/-shm beside it.
  const restored = { EDGEJAIL_DATA_DIR: join(tmp.dir, 'restored'), EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN };
  mkdirSync(restored.EDGEJAIL_DATA_DIR, { mode: 0o700 });
  copyFileSync(backupFile, join(restored.EDGEJAIL_DATA_DIR, 'edgejail.db'));
  assert.ok(!existsSync(join(restored.EDGEJAIL_DATA_DIR, 'edgejail.db-wal')));
  const back = await startServiceProcess(restored);
  try {
    const status = await (await fetch(`${back.url}/v1/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
    assert.equal(status.events_stored, inCopy.size);
    assert.equal(status.sites, 1);
    const body = JSON.stringify({ events: [attempt('198.18.251.1')] });
    const res = await fetch(`${back.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body });
    assert.equal(res.status, 200, 'the restored site\'s secret still signs');
  } finally {
    await back.stop();
  }
});
