// Writes that read first must queue for SQLite's write lock, not fail on it: a deferred
// transaction that has read cannot wait (SQLite answers BUSY at once), so a checkpoint or
// the CLI holding the lock for a moment turned a manual ban into a 500.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { adminHeaders, attempt, postEvents, startService } from '../support/service.ts';

// Another connection that keeps taking the write lock for a moment, as the checkpoint
// worker's RESTART pass and a CLI command do.
const LOCK_TAKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
let stopping = false;
let rounds = 0;
parentPort.on('message', () => { stopping = true; });
function round() {
  if (stopping) { db.close(); parentPort.postMessage({ rounds }); return; }
  db.exec('BEGIN IMMEDIATE');
  const until = Date.now() + 1;
  while (Date.now() < until) {}
  db.exec('COMMIT');
  rounds++;
  if (rounds === 1) parentPort.postMessage('started');
  setTimeout(round, 1);
}
round();
`;

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService();
});
after(async () => svc.close());

test('10,000 manual bans and ingest while another connection keeps taking the write lock: no 5xx', async () => {
  const worker = new Worker(LOCK_TAKER, {
    eval: true,
    workerData: { file: join(svc.dir, 'edgejail.db'), driver: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });

  const statuses = new Map<number, number>();
  const errors = new Set<string>();
  const count = (res: { statusCode: number; body: string }) => {
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode >= 500) errors.add(res.body.slice(0, 200));
  };
  const TOTAL = 10_000;
  const CONCURRENT = 25;
  for (let i = 0; i < TOTAL; i += CONCURRENT) {
    const batch: Array<Promise<{ statusCode: number; body: string }>> = [];
    for (let k = i; k < Math.min(TOTAL, i + CONCURRENT); k++) {
      const ip = `198.18.${k >> 8}.${k & 255}`;
      batch.push(svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip, duration: '1h', reason: 'burst' } }));
    }
    // An ingest batch alongside every round: a site reporting while the admin bans.
    batch.push(postEvents(svc.app, svc.site, [attempt(`203.0.113.${(i / CONCURRENT) % 250}`)]));
    for (const res of await Promise.all(batch)) count(res);
  }

  worker.postMessage('stop');
  const { rounds } = await new Promise<{ rounds: number }>((resolve) => worker.once('message', resolve));
  await worker.terminate();
  assert.ok(rounds > 0, 'the lock taker ran');
  const fiveHundreds = [...statuses].filter(([status]) => status >= 500).reduce((n, [, c]) => n + c, 0);
  assert.equal(fiveHundreds, 0, `5xx answers: ${JSON.stringify([...statuses])} ${[...errors].join(' | ')}`);
  assert.equal(statuses.get(201), TOTAL, JSON.stringify([...statuses]));
  const { n } = svc.app.core.db.prepare("SELECT count(*) AS n FROM bans WHERE jail = 'manual' AND state = 'active'").get() as { n: number };
  assert.equal(n, TOTAL);
});

test('a write lock held past busy_timeout is a 503 with Retry-After, and the batch goes in when sent again', async () => {
  const other = new Database(join(svc.dir, 'edgejail.db'));
  const db = svc.app.core.db;
  const waited = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 20');
  const events = [attempt('203.0.113.251')];
  try {
    other.exec('BEGIN IMMEDIATE');
    const refused = await postEvents(svc.app, svc.site, events);
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(JSON.parse(refused.body).error, 'database_busy');
    other.exec('COMMIT');
    const stored = await postEvents(svc.app, svc.site, events);
    assert.equal(stored.statusCode, 200, stored.body);
    assert.equal(JSON.parse(stored.body).accepted, 1, 'the refused batch stored nothing, so its retry is new');
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    db.pragma(`busy_timeout = ${waited}`);
  }
});
