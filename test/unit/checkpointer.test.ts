// The WAL is checkpointed by a worker thread, not by whichever request's commit crosses
// the threshold. Under a steady stream of commits it must still stay bounded, and if the
// worker dies SQLite's own auto-checkpoint must come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
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
 * Commits `batches` transactions back to back, as a loaded event loop would: between two
 * only the turn's I/O callbacks run (the worker's messages among them), so no pass of the
 * worker ends between two commits by luck. A commit waits while `held()` says so. Returns
 * the WAL file's peak size.
 */
async function writeLoad(db: ReturnType<typeof openDatabase>, file: string, batches: number, held = () => false): Promise<number> {
  let maxWal = 0;
  for (let i = 0; i < batches; i++) {
    while (held()) await sleep(1);
    writeBatch(db, 100);
    maxWal = Math.max(maxWal, statSync(`${file}-wal`).size);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return maxWal;
}

const until = async (what: string, condition: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

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

/** Wakes the worker (it comes on writes) and waits for it: a thread takes a while to start on a loaded machine. */
async function workerRunning(db: ReturnType<typeof openDatabase>, checkpointer: ReturnType<typeof startCheckpointer>): Promise<void> {
  writeBatch(db, 300);
  await until('the worker to start', () => checkpointer.running() && checkpointer.stats().checkpoints > 0);
}

/** A holder as the group commit is one: counts its holds and whether one is on. */
function holder() {
  let holds = 0;
  let releases = 0;
  return {
    hold: () => {
      holds++;
      let released = false;
      return () => {
        if (!released) releases++;
        released = true;
      };
    },
    held: () => holds > releases,
    counts: () => ({ holds, releases }),
  };
}

test('keeps the WAL bounded under back-to-back commits by holding them for a pass, never by a lock', async () => {
  const tmp = tempDir();
  try {
    const unbounded = await unboundedWal(tmp.dir);
    const file = join(tmp.dir, 'edgejail.db');
    const db = openDatabase(file);
    seed(db);
    // Any wait for a lock would throw SQLITE_BUSY here instead of sleeping in the busy handler.
    db.pragma('busy_timeout = 0');
    // The cap on a hold is for a worker that never answers; here it must not cut a slow pass short.
    const checkpointer = startCheckpointer(db, file, { intervalMs: 20, catchUpPages: 256, watchMs: 20, holdMaxMs: 10_000 });
    const ingest = holder();
    checkpointer.holdCommitsWith(ingest.hold);
    try {
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the main connection no longer checkpoints');
      await workerRunning(db, checkpointer);
      const peak = await writeLoad(db, file, 300, ingest.held);
      const stats = checkpointer.stats();
      assert.ok(stats.checkpoints > 0, `checkpoints ran (${stats.checkpoints})`);
      assert.ok(stats.holds > 0 && ingest.counts().holds === stats.holds, `the commits were held (${stats.holds})`);
      assert.ok(stats.startsOver > 0, 'after a held pass, a commit started the WAL over');
      assert.equal(stats.restarts, 0, 'no RESTART was needed');
      assert.ok(peak < unbounded / 3, `WAL peaked at ${peak} bytes; ${unbounded} with no checkpoints`);
      assert.equal(stats.errors, 0);
    } finally {
      await checkpointer.stop();
      assert.equal(ingest.held(), false, 'every hold was released');
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'auto-checkpoint is back after stop');
      db.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('a reader on an old snapshot keeps the WAL from starting over without ever blocking a commit; once it goes, the WAL starts over', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'edgejail.db');
  const db = openDatabase(file);
  seed(db);
  db.pragma('busy_timeout = 0');
  const checkpointer = startCheckpointer(db, file, { intervalMs: 20, catchUpPages: 128, restartPages: 512, watchMs: 20, holdMaxMs: 10_000 });
  const ingest = holder();
  checkpointer.holdCommitsWith(ingest.hold);
  const reader = new Database(file, { readonly: true });
  try {
    await workerRunning(db, checkpointer);
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM events').get(); // the snapshot is taken here
    // The reader may have found every frame copied back and read the database file alone;
    // then it holds back every copy from now on. Either way the WAL cannot start over again
    // while it reads, and grows past restartPages, where RESTART finds the reader and gives up.
    await writeLoad(db, file, 150, ingest.held);
    await until('the WAL past restartPages, with held passes', () => {
      if (!ingest.held()) writeBatch(db, 100);
      const now = checkpointer.stats();
      return now.lastWalPages > 512 && now.holds > 0;
    });
    const pinned = checkpointer.stats();
    assert.equal(pinned.restarts, 0, 'a RESTART that finds a reader gives up');
    reader.prepare('COMMIT').run();
    await until('the WAL to start over once the reader has gone', () => {
      if (!ingest.held()) writeBatch(db, 10);
      return checkpointer.stats().startsOver > pinned.startsOver;
    });
    assert.equal(checkpointer.stats().errors, 0);
  } finally {
    reader.close();
    await checkpointer.stop();
    db.close();
    tmp.cleanup();
  }
});

test('a WAL already past restartPages (a crash left it) is started over by a RESTART while the commits are held', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'edgejail.db');
  const db = openDatabase(file);
  seed(db);
  db.pragma('wal_autocheckpoint = 0');
  for (let i = 0; i < 20; i++) writeBatch(db, 100);
  db.pragma('busy_timeout = 0');
  const checkpointer = startCheckpointer(db, file, { intervalMs: 20, catchUpPages: 64, restartPages: 128, startPages: 64, watchMs: 20, holdMaxMs: 10_000 });
  const ingest = holder();
  checkpointer.holdCommitsWith(ingest.hold);
  try {
    await until('a RESTART', () => checkpointer.stats().restarts > 0);
    await until('the WAL to start over at the next commit', () => {
      if (!ingest.held()) writeBatch(db, 10);
      return checkpointer.stats().startsOver > 0;
    });
    assert.ok(checkpointer.stats().holds > 0);
    assert.equal(checkpointer.stats().errors, 0);
  } finally {
    await checkpointer.stop();
    assert.equal(ingest.held(), false, 'every hold was released');
    db.close();
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
