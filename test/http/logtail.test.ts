// `edgejail tail`'s reading: real files, real rotation, offsets in the real SQLite file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService } from '../support/service.ts';
import { clfTime, failedLoginLine, failedLoginLines } from '../support/log-lines.ts';
import Database from 'better-sqlite3';
import { createTailer } from '../../server/logtail/tail.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let file: string;
const logs: string[] = [];
before(async () => {
  svc = await startService();
  file = join(svc.dir, 'access.log');
});
after(async () => svc.close());

const eventsOf = (ip: string) => (svc.app.core.db.prepare('SELECT count(*) AS n FROM events WHERE ip = ?').get(ip) as { n: number }).n;
const tailer = () => {
  const site = svc.app.core.store.siteById(svc.site.id)!;
  return createTailer(svc.app.core, { site, files: [file], format: 'nginx', fromStart: false, log: (m) => logs.push(m) });
};

test('from the end, through rename and truncate rotations, and across restarts without re-reading or skipping', () => {
  writeFileSync(file, failedLoginLines('198.51.100.1', 3));
  let t = tailer();
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.1'), 0, 'what was there before starts nothing (no --from-start)');

  appendFileSync(file, failedLoginLines('198.51.100.1', 5));
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.1'), 5);
  assert.ok(svc.app.core.bans.currentBan('198.51.100.1'), 'five failed logins through the log: banned, CF-Connecting-IP taken from the Cloudflare peer');

  // logrotate's rename: lines written to the old file just before it moved are read too.
  appendFileSync(file, failedLoginLines('198.51.100.2', 2));
  renameSync(file, `${file}.1`);
  writeFileSync(file, failedLoginLines('198.51.100.2', 3));
  t.pollOnce();
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.2'), 5);
  assert.ok(svc.app.core.bans.currentBan('198.51.100.2'));

  // copytruncate.
  truncateSync(file, 0);
  appendFileSync(file, failedLoginLines('198.51.100.3', 1));
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.3'), 1);

  // A restart resumes at the saved offset.
  t.close();
  appendFileSync(file, failedLoginLines('198.51.100.3', 2));
  t = tailer();
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.3'), 3);
  t.close();
  t = tailer();
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.3'), 3, 'nothing read twice');

  // Rotated while not running: the rest of the old file (FILE.1), then the new one.
  t.close();
  appendFileSync(file, failedLoginLines('198.51.100.4', 1));
  renameSync(file, `${file}.1`);
  writeFileSync(file, failedLoginLines('198.51.100.4', 1));
  t = tailer();
  t.pollOnce();
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.4'), 2, 'nothing skipped');
  t.close();
});

test('"from the end" is the end when the tailer starts: a line written before its first poll is read, not skipped', () => {
  const t = tailer();
  appendFileSync(file, failedLoginLines('198.51.100.6', 1));
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.6'), 1);
  t.close();
});

test('unparsable lines are counted and sampled in the log, never fatal; a partial line waits for its end', () => {
  const t = tailer();
  t.pollOnce();
  appendFileSync(file, 'garbage\n\u0000\u0001 more\n');
  appendFileSync(file, failedLoginLine('198.51.100.5').slice(0, 30));
  t.pollOnce();
  assert.equal(t.stats().unparsed, 2);
  assert.ok(logs.some((m) => m.includes('cannot read a line')));
  appendFileSync(file, failedLoginLine('198.51.100.5').slice(30));
  t.pollOnce();
  assert.equal(eventsOf('198.51.100.5'), 1);
  t.close();
});

test('CF-Connecting-IP from a peer outside Cloudflare\'s ranges is believed only from a trusted peer (cloudflared on loopback)', () => {
  const site = svc.app.core.store.siteById(svc.site.id)!;
  const fromLoopback = (ip: string) => `127.0.0.1 - - [${clfTime()}] "POST /wp-login.php HTTP/1.1" 200 4521 "-" "curl/8" "${ip}"\n`;
  const untrusted = createTailer(svc.app.core, { site, files: [file], format: 'nginx', fromStart: false, log: (m) => logs.push(m) });
  untrusted.pollOnce();
  appendFileSync(file, fromLoopback('198.51.100.30'));
  untrusted.pollOnce();
  assert.equal(eventsOf('198.51.100.30'), 0, 'the peer is loopback, never counted; the header is anyone\'s');
  untrusted.close();
  const trusted = createTailer(svc.app.core, { site, files: [file], format: 'nginx', fromStart: false, trustedPeers: ['127.0.0.1/32'], log: (m) => logs.push(m) });
  trusted.pollOnce();
  appendFileSync(file, fromLoopback('198.51.100.31'));
  trusted.pollOnce();
  assert.equal(eventsOf('198.51.100.31'), 1);
  trusted.close();
});

test('a poll returns at most maxLinesPerPoll lines and the next one carries on where it stopped', () => {
  const site = svc.app.core.store.siteById(svc.site.id)!;
  const t = createTailer(svc.app.core, { site, files: [file], format: 'nginx', fromStart: false, maxLinesPerPoll: 7, log: (m) => logs.push(m) });
  t.pollOnce();
  appendFileSync(file, failedLoginLines('198.51.100.40', 20));
  assert.equal(t.pollOnce(), 7);
  assert.equal(t.pollOnce(), 7);
  assert.equal(t.pollOnce(), 6);
  assert.equal(t.pollOnce(), 0);
  assert.equal(eventsOf('198.51.100.40'), 20, 'every line once');
  t.close();
});

test('a poll whose transaction finds the database busy reads the same lines again next time: none skipped, none twice', () => {
  const other = new Database(join(svc.dir, 'edgejail.db'));
  const db = svc.app.core.db;
  const waited = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 20'); // the held lock below outlasts it at once
  try {
    writeFileSync(file, '');
    const t = tailer();
    t.pollOnce();
    appendFileSync(file, failedLoginLines('198.51.100.50', 3));
    other.exec('BEGIN IMMEDIATE'); // as a CLI command or the checkpoint's RESTART pass holds it
    assert.throws(() => t.pollOnce(), (error: { code?: string }) => error.code === 'SQLITE_BUSY');
    other.exec('COMMIT');
    assert.equal(eventsOf('198.51.100.50'), 0);
    assert.equal(t.stats().lines, 0, 'a rolled-back poll counts nothing');
    assert.equal(t.pollOnce(), 3);
    assert.equal(eventsOf('198.51.100.50'), 3);
    assert.equal(t.pollOnce(), 0);
    assert.deepEqual({ lines: t.stats().lines, events: t.stats().events }, { lines: 3, events: 3 });
    t.close();
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    db.pragma(`busy_timeout = ${waited}`);
  }
});
