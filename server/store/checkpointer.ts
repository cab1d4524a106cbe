// Moves SQLite's WAL checkpoints off the event loop. With the default auto-checkpoint
// the request whose commit crosses 1,000 WAL pages copies them back and fsyncs the
// database, ~10 ms on this machine; that one request becomes the ingest p99. A worker
// thread with its own connection checkpoints instead (PASSIVE: it never blocks a
// writer), so the event loop only ever appends to the WAL.
//
// The WAL file starts over only when a commit begins with every frame copied back. Under a
// steady stream of commits no pass ends between two of them, so the file used to grow until
// a RESTART took the writer lock; the commit behind it slept in SQLite's busy handler (1, 2,
// then 5 ms) with the event loop stopped, every half second at 3,800 single-event requests
// a second. Now the worker asks the main thread to hold its next commits, not its event
// loop, for one more pass over the last few frames (~7 ms from hold to release: a message
// each way and a pass with its two fsyncs). On one core at 3,000 commits a second (three events each, timed
// from when each was due; three interleaved pairs, 2026-12-07) the longest commit fell from
// 19-25 ms to 4-8 ms, and the p99 of acknowledgements from 10-13 ms to 5-6.5 ms.
//
// The thread costs ~13 MB resident (its own V8 heap), a fifth of an idle service, and once
// started it leaves ~2.5 MB of malloc arena behind when it exits. So it runs only while
// there is something to checkpoint: it exits after a while with nothing new in the WAL, and
// the main thread starts it once its own connection has written enough rows (a microsecond
// `total_changes()` read each second). At start-up it goes at once only for a WAL that is
// already large (a crash left it); a few pages of start-up writes wait for real traffic.
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Db } from './db.ts';

// Plain CommonJS so it runs the same from the sources and from the esbuild bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
let stopping = false;
let quietPasses = 0;
let lastLog = -1;
function checkpoint() {
  if (stopping) return;
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    // No frame added since the last pass and every frame copied back: nothing to do. Enough
    // of those in a row and the thread goes.
    quietPasses = result.log === lastLog && result.log === result.checkpointed ? quietPasses + 1 : 0;
    lastLog = result.log;
    if (quietPasses >= workerData.idlePasses) {
      parentPort.postMessage({ type: 'idle' });
      stopping = true;
      db.close();
      parentPort.close();
      return;
    }
    if (result.log >= workerData.catchUpPages) {
      // The WAL only starts over when a commit begins with every frame copied back, and
      // under a steady stream of commits a pass never ends between two of them. So the
      // main thread holds its next commit (not its event loop) while one more pass copies
      // the last few frames; the 'held' message brings us back. One more pass first, unheld:
      // it copies what came in during this one, so that the held one has only a commit or
      // two left (holds of ~7 ms instead of ~8 at p50, and a lower p99 of acknowledgements).
      db.pragma('wal_checkpoint(PASSIVE)');
      parentPort.postMessage({ type: 'hold' });
      return;
    }
    parentPort.postMessage({ type: 'checkpoint', walPages: result.log, restarted: false });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
  setTimeout(checkpoint, workerData.intervalMs).unref();
}
function catchUp() {
  if (stopping) return;
  try {
    let [result] = db.pragma('wal_checkpoint(PASSIVE)');
    let restarted = false;
    // Held passes that left the file this long did not start it over: commits went on
    // through the hold (or a reader kept its snapshot).
    if (result.log >= workerData.restartPages) {
      // Something else kept frames back: a write outside the held commits, or a reader on an
      // old snapshot. RESTART takes the writer lock and then waits for readers, and a commit
      // on the main thread waits for it; so only as the bound on the file. A short busy
      // timeout: it must get the lock between writes that ignore the hold, but not hold it
      // for seconds behind a long reader (the next pass tries again).
      db.pragma('busy_timeout = 100');
      [result] = db.pragma('wal_checkpoint(RESTART)');
      db.pragma('busy_timeout = 5000');
      restarted = true;
    }
    parentPort.postMessage({ type: 'checkpoint', walPages: result.log, restarted });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
  setTimeout(checkpoint, workerData.intervalMs).unref();
}
parentPort.on('message', (msg) => {
  if (msg === 'held') catchUp();
  else if (msg === 'stop') { stopping = true; db.close(); parentPort.close(); }
});
checkpoint();
`;

export interface CheckpointStats {
  checkpoints: number;
  restarts: number;
  /** Times the commits' owner held them for a pass. */
  holds: number;
  /** Times a commit started the WAL over after the worker had copied every frame back (no RESTART). */
  resets: number;
  lastWalPages: number;
  errors: number;
  /** Times the worker was started (it leaves when idle and comes back on writes). */
  workerStarts: number;
}

export interface Checkpointer {
  stats(): CheckpointStats;
  /** Whether the worker thread is running now. */
  running(): boolean;
  stop(): Promise<void>;
  /**
   * How to hold the main connection's commits for one pass; returns the release. Set by
   * whoever owns the commits (the ingest route's group commit). Without it the pass still
   * runs, it just rarely catches up while commits keep coming.
   */
  holdCommitsWith(hold: () => () => void): void;
}

export interface CheckpointerOptions {
  intervalMs?: number;
  /** WAL pages at which the worker asks for the commits to be held while it catches up. */
  catchUpPages?: number;
  /** WAL pages past which it takes the writer lock (RESTART) when a held pass could not catch up. */
  restartPages?: number;
  /** Longest the commits are held for one pass, whatever the worker does. */
  holdMaxMs?: number;
  /** Passes in a row with nothing new in the WAL before the worker leaves. */
  idlePasses?: number;
  /** How often the main thread looks at its write count while the worker is away. */
  watchMs?: number;
  /** Rows written by the main connection that bring the worker (back). */
  wakeChanges?: number;
  /** WAL pages found at start that start the worker at once; default SQLite's auto-checkpoint threshold. */
  startPages?: number;
  onError?: (message: string) => void;
}

/** Frames in the WAL file (header 32 bytes, each frame 24 + a page); 0 when there is none. */
function walPages(db: Db, file: string): number {
  let size: number;
  try {
    size = statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
  return Math.max(0, Math.floor((size - 32) / (24 + (db.pragma('page_size', { simple: true }) as number))));
}

/**
 * Turns the main connection's auto-checkpoint off and checkpoints from a worker every
 * `intervalMs` while there is work. If the worker dies, auto-checkpoint comes back on: the
 * WAL must never grow without bound because a helper thread failed.
 */
export function startCheckpointer(db: Db, file: string, options: CheckpointerOptions = {}): Checkpointer {
  const stats: CheckpointStats = { checkpoints: 0, restarts: 0, resets: 0, holds: 0, lastWalPages: 0, errors: 0, workerStarts: 0 };
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const workerData = {
    file,
    driver,
    intervalMs: options.intervalMs ?? 200,
    catchUpPages: options.catchUpPages ?? 4096,
    // journal_size_limit's 64 MB.
    restartPages: options.restartPages ?? 16384,
    idlePasses: options.idlePasses ?? 25,
  };
  const wakeChanges = options.wakeChanges ?? 200;
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  db.pragma('wal_autocheckpoint = 0');

  let worker: Worker | null = null;
  let stopped = false;
  let changesWhenIdle = 0;
  let holdCommits: (() => () => void) | null = null;
  let releaseHold: (() => void) | null = null;
  let holdTimer: NodeJS.Timeout | undefined;
  const holdMaxMs = options.holdMaxMs ?? 20;

  function release(): void {
    clearTimeout(holdTimer);
    const held = releaseHold;
    releaseHold = null;
    held?.();
  }

  // Called from the worker's message, so never inside a transaction: the hold starts at
  // the next commit, and what has been committed so far is what the pass copies.
  function hold(target: Worker): void {
    release();
    if (holdCommits) {
      stats.holds++;
      releaseHold = holdCommits();
    }
    // A worker that never answers must not hold ingest: the commits go on after holdMaxMs.
    holdTimer = setTimeout(release, holdMaxMs);
    target.postMessage('held');
  }

  const fallBack = (why: string) => {
    if (stopped) return;
    stopped = true;
    clearInterval(watch);
    stats.errors++;
    options.onError?.(`checkpoint worker stopped (${why}); checkpointing on the main thread again`);
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
  };

  function startWorker(): void {
    stats.workerStarts++;
    const started = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData,
      // It only runs a pragma: a small heap keeps the thread's cost to a few MB.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    started.unref();
    let idle = false;
    started.on('message', (msg: { type: string; walPages?: number; restarted?: boolean; message?: string }) => {
      if (msg.type === 'hold') {
        hold(started);
        return;
      }
      release();
      if (msg.type === 'checkpoint') {
        stats.checkpoints++;
        if (msg.restarted) stats.restarts++;
        else if ((msg.walPages ?? 0) < stats.lastWalPages) stats.resets++;
        stats.lastWalPages = msg.walPages ?? 0;
      } else if (msg.type === 'idle') {
        idle = true;
      } else if (msg.type === 'error') {
        stats.errors++;
        options.onError?.(`checkpoint failed: ${msg.message}`);
      }
    });
    started.on('error', (error) => fallBack(error.message));
    started.on('exit', (code) => {
      release();
      if (worker === started) worker = null;
      if (idle && code === 0) {
        changesWhenIdle = db.open ? (totalChanges.get() as number) : 0;
        return;
      }
      fallBack(`exit ${code}`);
    });
    worker = started;
  }

  if (walPages(db, file) >= (options.startPages ?? 1000)) startWorker();
  else changesWhenIdle = totalChanges.get() as number;
  const watch = setInterval(() => {
    if (stopped || worker || !db.open) return;
    if ((totalChanges.get() as number) - changesWhenIdle >= wakeChanges) startWorker();
  }, options.watchMs ?? 1000);
  watch.unref();

  return {
    stats: () => ({ ...stats }),
    running: () => worker !== null,
    holdCommitsWith(next) {
      holdCommits = next;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(watch);
      release();
      const current = worker;
      worker = null;
      if (current) {
        const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
        current.ref(); // keep the process alive until the worker has closed its connection
        current.postMessage('stop');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
        clearTimeout(timer);
        await current.terminate();
      }
      // Leave the file as a fresh process would find it, and the connection as it was.
      if (db.open) {
        db.pragma('wal_autocheckpoint = 1000');
      }
    },
  };
}
