// `edgejail import fail2ban` on a database a real fail2ban-server wrote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../support/process.ts';
import { ADMIN_TOKEN, startService, tempDir } from '../support/service.ts';
import { createFail2ban, ensureFail2ban, fail2banBans, waitFor, type Fail2ban } from './harness.ts';
import { formatSummary, importFail2banBans } from '../../server/fail2ban/import.ts';

const TIMEOUT = { timeout: 300_000 };
let tmp: ReturnType<typeof tempDir>;
let f2b: Fail2ban;
let env: NodeJS.ProcessEnv;

const ourBans = () => {
  const db = new Database(join(tmp.dir, 'data', 'edgejail.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT ip_key, jail, ban_count, created_at, expires_at, state, lifted_by FROM bans ORDER BY id').all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
};

before(async () => {
  ensureFail2ban();
  tmp = tempDir('edgejail-f2b-import-');
  env = { EDGEJAIL_DATA_DIR: join(tmp.dir, 'data'), EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, EDGEJAIL_CONFIG: '' };
  f2b = createFail2ban(join(tmp.dir, 'f2b'), [
    { name: 'wordpress-hard', bantime: 3600 },
    { name: 'forever', bantime: -1 },
    { name: 'short', bantime: 1, extra: ['bantime.increment = true'] },
  ]);
  await f2b.start();
  const banned = (jail: string, ip: string, n = 1) => waitFor(() => fail2banBans(f2b).filter((r) => r.jail === jail && r.ip === ip).length >= n);
  for (const [jail, ip] of [['wordpress-hard', '203.0.113.41'], ['forever', '203.0.113.42'], ['wordpress-hard', '10.0.0.5'], ['short', '203.0.113.43']] as const) {
    f2b.fail(jail, ip);
    f2b.fail(jail, ip);
    await banned(jail, ip);
  }
  // Banned again once the first short ban ended: fail2ban counts it as the address's second ban.
  await waitFor(async () => /Currently banned:\s+0/.test(await f2b.client('status', 'short')));
  f2b.fail('short', '203.0.113.43');
  f2b.fail('short', '203.0.113.43');
  await banned('short', '203.0.113.43', 2);
  await waitFor(async () => /Currently banned:\s+0/.test(await f2b.client('status', 'short')));
  await f2b.stop();
}, TIMEOUT);

after(async () => {
  await f2b?.stop();
  tmp?.cleanup();
});

test('--dry-run prints what it would do and writes nothing', TIMEOUT, () => {
  const r = runCli(['import', 'fail2ban', f2b.dbfile, '--dry-run'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dry run: nothing written/);
  assert.match(r.stdout, /^wordpress-hard\s+2\s+1\s+0\s+0\s+1$/m, r.stdout);
  assert.deepEqual(ourBans(), []);
});

test('running bans are enforced with their real end and ban count; ended ones are history; again adds nothing', TIMEOUT, () => {
  const rows = fail2banBans(f2b);
  const r = runCli(['import', 'fail2ban', f2b.dbfile], env);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^wordpress-hard\s+2\s+1\s+0\s+0\s+1$/m, r.stdout);
  assert.match(r.stdout, /^forever\s+1\s+1\s+0\s+0\s+0$/m, r.stdout);
  assert.match(r.stdout, /^short\s+2\s+0\s+2\s+0\s+0$/m, r.stdout);
  assert.match(r.stdout, /skipped: 10\.0\.0\.5 in wordpress-hard: protected/);

  const iso = (s: number) => new Date(s * 1000).toISOString();
  const wp = rows.find((row) => row.ip === '203.0.113.41')!;
  const forever = rows.find((row) => row.ip === '203.0.113.42')!;
  const short = rows.filter((row) => row.ip === '203.0.113.43');
  assert.deepEqual(short.map((s) => s.bancount), [1, 2], 'fail2ban counted the second ban');
  assert.deepEqual(ourBans(), [
    { ip_key: '203.0.113.41', jail: 'fail2ban:wordpress-hard', ban_count: 1, created_at: iso(wp.timeofban), expires_at: iso(wp.timeofban + 3600), state: 'active', lifted_by: null },
    { ip_key: '203.0.113.42', jail: 'fail2ban:forever', ban_count: 1, created_at: iso(forever.timeofban), expires_at: iso(forever.timeofban + 365 * 86400), state: 'active', lifted_by: null },
    ...short.map((s) => ({ ip_key: '203.0.113.43', jail: 'fail2ban:short', ban_count: s.bancount, created_at: iso(s.timeofban), expires_at: iso(s.timeofban + s.bantime), state: 'lifted', lifted_by: 'expiry' })),
  ].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.ban_count - b.ban_count));

  const again = runCli(['import', 'fail2ban', f2b.dbfile], env);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^total\s+5\s+0\s+0\s+4\s+1$/m, again.stdout);
  assert.equal(ourBans().length, 4);
});

test('--jails limits the import; a missing file or a non-fail2ban file is a clear error', TIMEOUT, () => {
  const r = runCli(['import', 'fail2ban', f2b.dbfile, '--jails', 'forever,nope', '--dry-run'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /no bans in fail2ban's database for: nope/);
  assert.doesNotMatch(r.stdout, /wordpress-hard/);
  const missing = runCli(['import', 'fail2ban', join(tmp.dir, 'nope.sqlite3')], env);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /does not exist/);
  const ours = runCli(['import', 'fail2ban', join(tmp.dir, 'data', 'edgejail.db'), '--dry-run'], env);
  assert.equal(ours.status, 1);
  assert.match(ours.stderr, /not a fail2ban database/);
});

test('names from the foreign database cannot drive the terminal', async () => {
  const svc = await startService();
  try {
    const result = importFail2banBans(svc.app.core, [{ jail: 'x\u001b[2Jy', ip: '203.0.113.9\u001b]0;pwn\u0007', timeofban: 1, bantime: 60, bancount: 1 }], { dryRun: true });
    const out = formatSummary(result, true).join('\n');
    assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    assert.match(out, /x\\u001b\[2Jy/);
  } finally {
    await svc.close();
  }
});
