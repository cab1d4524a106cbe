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
const { openSync, readSync, closeSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
// PASSIVE takes no lock a writer needs and never calls the busy handler; only the RESTART
// fallback waits, for as long as it says.
db.pragma('busy_timeout = 0');
let stopping = false;
let quietPasses = 0;
let lastLog = -1;
// Passes to let go by before the next hold, after holds that did not start the WAL over (a
// reader kept an old snapshot): each one delays the commits for nothing.
let failedHolds = 0;
let skipHolds = 0;
let saltAtHold = null;
let holdTimer = null;
let walFd = -1;
const header = Buffer.alloc(32);
// Salt-1 of the WAL file's header: SQLite adds one each time the file starts over, whoever
// started it (the new header is written with the first frame after), so the main thread
// counts starts-over exactly; the frame count alone cannot tell a reset from a regrowth.
function walSalt() {
  try {
    if (walFd < 0) walFd = openSync(workerData.file + '-wal', 'r');
    return readSync(walFd, header, 0, 32, 0) === 32 ? header.readUInt32BE(16) : null;
  } catch {
    return null;
  }
}
function stop() {
  stopping = true;
  clearTimeout(holdTimer);
  if (walFd >= 0) closeSync(walFd);
  db.close();
  parentPort.close();
}
function report(result, restarted) {
  parentPort.postMessage({ type: 'checkpoint', walPages: result.log, restarted, salt: walSalt() });
}
function checkpoint() {
  if (stopping) return;
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    // No frame added since the last pass and every frame copied back: nothing to do. Enough
    // of those in a row and the thread goes.
    const quiet = result.log === lastLog && result.log === result.checkpointed;
    quietPasses = quiet ? quietPasses + 1 : 0;
    lastLog = result.log;
    if (quietPasses >= workerData.idlePasses) {
      parentPort.postMessage({ type: 'idle' });
      return stop();
    }
    if (saltAtHold !== null) {
      const salt = walSalt();
      failedHolds = salt === saltAtHold ? failedHolds + 1 : 0;
      skipHolds = Math.min(failedHolds, workerData.maxSkippedHolds);
      saltAtHold = null;
    }
    // A pass reports every frame copied back even while a commit is under way on the main
    // thread, so that is no sign the next commit starts the WAL over; only a WAL that has not
    // moved since the last pass (writes stopped) needs no hold.
    if (result.log >= workerData.catchUpPages && !quiet && skipHolds-- <= 0) {
      // The WAL only starts over when a commit begins with every frame copied back, and
      // under a steady stream of commits a pass never ends between two of them. So the
      // main thread holds its next commits (not its event loop) while one more pass copies
      // the last few frames; the 'held' message brings us back. One more pass first, unheld:
      // it copies what came in during this one, so that the held one has only a commit or
      // two left (holds of ~7 ms instead of ~8 at p50, and a lower p99 of acknowledgements).
      db.pragma('wal_checkpoint(PASSIVE)');
      parentPort.postMessage({ type: 'hold' });
      // A main thread that never answers must not stop the checkpoints.
      holdTimer = setTimeout(catchUp, workerData.holdAnswerMs);
      return;
    }
    report(result, false);
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
  setTimeout(checkpoint, workerData.intervalMs).unref();
}
function catchUp() {
  clearTimeout(holdTimer);
  holdTimer = null;
  if (stopping) return;
  try {
    saltAtHold = walSalt();
    let [result] = db.pragma('wal_checkpoint(PASSIVE)');
    let restarted = false;
    if (result.log >= workerData.restartPages) {
      // Held passes came and the WAL still did not start over: a writer that does not wait
      // for the hold (another process; a pass then reports every frame copied back while
      // its commit is under way), or a reader on an old snapshot. RESTART tries too: it waits
      // up to restartWaitMs for the writer lock between that writer's commits and for the
      // readers to go. Our own commits are held until this pass reports, so they never
      // meet the lock; the wait only holds them longer, and only this far past the target.
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      try {
        [result] = db.pragma('wal_checkpoint(RESTART)');
      } finally {
        db.pragma('busy_timeout = 0');
      }
      restarted = result.busy === 0;
    }
    report(result, restarted);
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
  setTimeout(checkpoint, workerData.intervalMs).unref();
}
parentPort.on('message', (msg) => {
  if (msg === 'held') {
    if (holdTimer !== null) catchUp();
  } else if (msg === 'stop') stop();
});
checkpoint();
`;

export interface CheckpointStats {
  checkpoints: number;
  /** Times the WAL file started over (counted from its header's salt, whoever started it). */
  startsOver: number;
  /** RESTARTs that had the writer lock and no reader in the way: the fallback, not the rule. */
  restarts: number;
  /** Times the commits were held for a pass. */
  holds: number;
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
   * Adds a writer whose commits are held for one pass: `hold` holds them and returns the
   * release. Every steady writer of the main connection registers (the ingest group
   * commit, the in-service log tail); one that does not makes held passes miss, and the
   * WAL then grows to restartPages.
   */
  holdCommitsWith(hold: () => () => void): void;
  /** Holds every registered writer's commits now, as a pass does; returns the release. */
  holdCommits(): () => void;
}

export interface CheckpointerOptions {
  intervalMs?: number;
  /** WAL pages at which the worker asks for the commits to be held while it catches up. */
  catchUpPages?: number;
  /** WAL pages past which a held pass that could not catch up also tries RESTART. */
  restartPages?: number;
  /** Longest the commits are held for one pass, whatever the worker does. */
  holdMaxMs?: number;
  /** Most passes let go by without a hold after holds that did not start the WAL over. */
  maxSkippedHolds?: number;
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
  const stats: CheckpointStats = { checkpoints: 0, startsOver: 0, restarts: 0, holds: 0, lastWalPages: 0, errors: 0, workerStarts: 0 };
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const workerData = {
    file,
    driver,
    intervalMs: options.intervalMs ?? 200,
    catchUpPages: options.catchUpPages ?? 4096,
    // journal_size_limit's 64 MB.
    restartPages: options.restartPages ?? 16384,
    idlePasses: options.idlePasses ?? 25,
    maxSkippedHolds: options.maxSkippedHolds ?? 10,
    // How long the worker waits for the main thread to answer a hold before it passes anyway.
    holdAnswerMs: 1000,
    restartWaitMs: 100,
  };
  const wakeChanges = options.wakeChanges ?? 200;
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  db.pragma('wal_autocheckpoint = 0');

  let worker: Worker | null = null;
  let stopped = false;
  let changesWhenIdle = 0;
  const holders: Array<() => () => void> = [];
  let releaseHeld: (() => void) | null = null;
  let holdTimer: NodeJS.Timeout | undefined;
  // Past a RESTART's wait for its locks: a hold ends with the pass's report, this is a backstop.
  const holdMaxMs = options.holdMaxMs ?? 250;
  let lastSalt: number | null = null;

  function holdAll(): () => void {
    const releases = holders.map((h) => h());
    return () => releases.forEach((r) => r());
  }

  function release(): void {
    clearTimeout(holdTimer);
    const held = releaseHeld;
    releaseHeld = null;
    held?.();
  }

  // Called from the worker's message, so never inside a transaction: the hold starts at
  // the next commit, and what has been committed so far is what the pass copies.
  function hold(target: Worker): void {
    release();
    try {
      if (stopped || !holders.length) return;
      stats.holds++;
      releaseHeld = holdAll();
      // Whatever the worker does, the commits go on after holdMaxMs.
      holdTimer = setTimeout(release, holdMaxMs);
    } finally {
      target.postMessage('held');
    }
  }

  function countStartsOver(salt: number | null | undefined): void {
    if (salt === null || salt === undefined) return;
    if (lastSalt !== null) stats.startsOver += (salt - lastSalt) >>> 0;
    lastSalt = salt;
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
    started.on('message', (msg: { type: string; walPages?: number; restarted?: boolean; salt?: number | null; message?: string }) => {
      if (msg.type === 'hold') {
        hold(started);
        return;
      }
      release();
      if (msg.type === 'checkpoint') {
        stats.checkpoints++;
        if (msg.restarted) stats.restarts++;
        countStartsOver(msg.salt);
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
    holdCommitsWith(hold) {
      holders.push(hold);
    },
    holdCommits: holdAll,
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
