// The WAL is checkpointed by a worker thread, not by whichever request's commit crosses
// the threshold. Under a steady stream of commits it must still stay bounded, and if the
// worker dies SQLite's own auto-checkpoint must come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../../server/store/db.ts';
import { startCheckpointer } from '../../server/store/checkpointer.ts';
import { tempDir } from '../support/service.ts';

function seed(db: ReturnType<typeof openDatabase>): void {
  db.prepare("INSERT INTO sites (id, name, secret, created_at) VALUES ('s', 'site', 'x', '2026-01-01T00:00:00Z')").run();
}

function writeBatch(db: ReturnType<typeof openDatabase>, n: number): void {
  const insert = db.prepare(`INSERT INTO events (id, site_id, type, ip, ip_key, weight, occurred_at, received_at)
    VALUES (?, 's', 'login_failed', '192.0.2.1', '192.0.2.1', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
  db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(randomUUID());
  })();
}

/**
 * Commits `batches` transactions with a breath between them, as the event loop would
 * between requests; a commit waits while `held()` says so. Returns the WAL file's peak size.
 */
async function writeLoad(db: ReturnType<typeof openDatabase>, file: string, batches: number, held = () => false): Promise<number> {
  let maxWal = 0;
  for (let i = 0; i < batches; i++) {
    while (held()) await sleep(1);
    writeBatch(db, 100);
    maxWal = Math.max(maxWal, statSync(`${file}-wal`).size);
    await sleep(2);
  }
  return maxWal;
}

/** How far the same commits grow the WAL with no checkpoint at all. */
async function unboundedWal(dir: string): Promise<number> {
  const file = join(dir, 'control.db');
  const control = openDatabase(file);
  seed(control);
  control.pragma('wal_autocheckpoint = 0');
  const peak = await writeLoad(control, file, 300);
  control.close();
  return peak;
}

test('keeps the WAL bounded under continuous commits by holding a commit, never by taking the writer lock', async () => {
  const tmp = tempDir();
  try {
    const unbounded = await unboundedWal(tmp.dir);
    const file = join(tmp.dir, 'edgejail.db');
    const db = openDatabase(file);
    seed(db);
    const checkpointer = startCheckpointer(db, file, { intervalMs: 20, catchUpPages: 256, watchMs: 20 });
    let holds = 0;
    let releases = 0;
    checkpointer.holdCommitsWith(() => {
      holds++;
      return () => releases++;
    });
    try {
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the main connection no longer checkpoints');
      const peak = await writeLoad(db, file, 300, () => holds > releases);
      const stats = checkpointer.stats();
      assert.ok(stats.checkpoints > 5, `checkpoints ran (${stats.checkpoints})`);
      assert.ok(stats.resets > 0, 'after a held pass, a commit started the WAL over');
      assert.equal(stats.restarts, 0, 'no RESTART: the main thread never waited for the writer lock');
      assert.ok(peak < unbounded / 3, `WAL peaked at ${peak} bytes; ${unbounded} with no checkpoints`);
      assert.equal(stats.errors, 0);
    } finally {
      await checkpointer.stop();
      assert.equal(holds, releases, 'every hold was released');
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'auto-checkpoint is back after stop');
      db.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('commits that go on through a hold (writes outside the group commit) still leave the WAL bounded', async () => {
  const tmp = tempDir();
  try {
    const unbounded = await unboundedWal(tmp.dir);
    const file = join(tmp.dir, 'edgejail.db');
    const db = openDatabase(file);
    seed(db);
    // The hold is granted but these commits ignore it, as a write outside the group commit would.
    const checkpointer = startCheckpointer(db, file, { intervalMs: 20, catchUpPages: 128, restartPages: 512, watchMs: 20 });
    let releases = 0;
    checkpointer.holdCommitsWith(() => () => releases++);
    try {
      const peak = await writeLoad(db, file, 300);
      const stats = checkpointer.stats();
      // A pass may still catch up between two of them; if not, past restartPages a RESTART does.
      assert.ok(stats.resets + stats.restarts > 0, `the WAL started over (${stats.resets} resets, ${stats.restarts} RESTARTs)`);
      assert.ok(releases > 0, 'each hold was released after its pass');
      assert.ok(peak < unbounded / 3, `WAL peaked at ${peak} bytes; ${unbounded} with no checkpoints`);
      assert.equal(stats.errors, 0);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('falls back to auto-checkpoint when the worker cannot open the database', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'edgejail.db');
  const db = openDatabase(file);
  const errors: string[] = [];
  // A directory where the file should be: the worker (started at once) fails to open it and exits.
  const checkpointer = startCheckpointer(db, tmp.dir, { onError: (m) => errors.push(m), startPages: 0 });
  try {
    const deadline = Date.now() + 5000;
    while (!errors.length && Date.now() < deadline) await sleep(20);
    assert.match(errors[0] ?? '', /checkpoint worker stopped/);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
  } finally {
    await checkpointer.stop();
    db.close();
    tmp.cleanup();
  }
});

const until = async (what: string, condition: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

test('the worker waits for writes, leaves once the WAL has been quiet, and comes back when the service writes again', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'edgejail.db');
  const db = openDatabase(file);
  seed(db);
  const checkpointer = startCheckpointer(db, file, { intervalMs: 20, idlePasses: 3, watchMs: 20, wakeChanges: 50 });
  try {
    assert.equal(checkpointer.running(), false, 'the few pages of the migrations and the seed are not worth a thread');
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'nor a checkpoint on the main thread');
    writeBatch(db, 10); // below wakeChanges
    await sleep(100);
    assert.equal(checkpointer.running(), false);
    assert.equal(checkpointer.stats().workerStarts, 0);

    writeBatch(db, 100);
    await until('the worker to come for the new rows', () => checkpointer.running());
    await until('the idle worker to leave', () => !checkpointer.running());
    assert.equal(checkpointer.stats().workerStarts, 1);
    assert.equal(checkpointer.stats().errors, 0, 'leaving when idle is no failure');
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'still no checkpoint on the main thread');

    writeBatch(db, 10); // below wakeChanges again: counted from when it left
    await sleep(100);
    assert.equal(checkpointer.running(), false);
    writeBatch(db, 100);
    await until('the worker to come back for the new rows', () => checkpointer.running());
    await until('those rows to be checkpointed and the worker to leave again', () => !checkpointer.running());
    const stats = checkpointer.stats();
    assert.equal(stats.workerStarts, 2);
    assert.ok(stats.checkpoints >= 4);
    const [wal] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
    assert.equal(wal!.log, wal!.checkpointed, 'every frame is back in the database');
  } finally {
    await checkpointer.stop();
    db.close();
    tmp.cleanup();
  }
});

test('a WAL already large at start (a crash left it) is checkpointed at once, without waiting for writes', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'edgejail.db');
  const db = openDatabase(file);
  seed(db);
  db.pragma('wal_autocheckpoint = 0');
  writeBatch(db, 2000);
  const pages = (statSync(`${file}-wal`).size - 32) / (24 + (db.pragma('page_size', { simple: true }) as number));
  assert.ok(pages > 50, `the WAL holds ${pages} pages`);
  const checkpointer = startCheckpointer(db, file, { intervalMs: 20, idlePasses: 3, startPages: 50 });
  try {
    assert.equal(checkpointer.running(), true);
    await until('the frames to be copied back and the worker to leave', () => !checkpointer.running());
    const [wal] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
    assert.equal(wal!.log, wal!.checkpointed, 'every frame is back in the database');
    assert.equal(checkpointer.stats().workerStarts, 1);
    assert.equal(checkpointer.stats().errors, 0);
  } finally {
    await checkpointer.stop();
    db.close();
    tmp.cleanup();
  }
});
