// Moves SQLite's WAL checkpoints off the event loop. With the default auto-checkpoint
// the request whose commit crosses 1,000 WAL pages copies them back and fsyncs the
// database, ~10 ms on this machine; that one request becomes the ingest p99. A worker
// thread with its own connection checkpoints instead (PASSIVE: it never blocks a
// writer), so the event loop only ever appends to the WAL.
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
function checkpoint() {
  if (stopping) return;
  try {
    let [result] = db.pragma('wal_checkpoint(PASSIVE)');
    let restarted = false;
    if (result.log >= workerData.restartPages) {
      // Under a steady stream of commits a PASSIVE pass never finds the WAL idle, so it is
      // never reset and grows. RESTART waits for the writer lock and copies the few frames
      // left after the pass above, so the main thread is held up for milliseconds, rarely.
      [result] = db.pragma('wal_checkpoint(RESTART)');
      restarted = true;
    }
    parentPort.postMessage({ type: 'checkpoint', walPages: result.log, restarted });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
  setTimeout(checkpoint, workerData.intervalMs).unref();
}
parentPort.on('message', (msg) => {
  if (msg === 'stop') { stopping = true; db.close(); parentPort.close(); }
});
checkpoint();
`;

export interface CheckpointStats {
  checkpoints: number;
  restarts: number;
  lastWalPages: number;
  errors: number;
}

export interface Checkpointer {
  stats(): CheckpointStats;
  stop(): Promise<void>;
}

/**
 * Turns the main connection's auto-checkpoint off and checkpoints from a worker every
 * `intervalMs`. If the worker dies, auto-checkpoint comes back on: the WAL must never
 * grow without bound because a helper thread failed.
 */
export function startCheckpointer(
  db: Db,
  file: string,
  options: { intervalMs?: number; restartPages?: number; onError?: (message: string) => void } = {},
): Checkpointer {
  const stats: CheckpointStats = { checkpoints: 0, restarts: 0, lastWalPages: 0, errors: 0 };
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, driver, intervalMs: options.intervalMs ?? 200, restartPages: options.restartPages ?? 4096 },
    // It only runs a pragma: a small heap keeps the thread's cost to a few MB.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
  });
  worker.unref();
  db.pragma('wal_autocheckpoint = 0');
  let stopped = false;
  const fallBack = (why: string) => {
    if (stopped) return;
    stopped = true;
    stats.errors++;
    options.onError?.(`checkpoint worker stopped (${why}); checkpointing on the main thread again`);
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
  };
  worker.on('message', (msg: { type: string; walPages?: number; restarted?: boolean; message?: string }) => {
    if (msg.type === 'checkpoint') {
      stats.checkpoints++;
      if (msg.restarted) stats.restarts++;
      stats.lastWalPages = msg.walPages ?? 0;
    } else if (msg.type === 'error') {
      stats.errors++;
      options.onError?.(`checkpoint failed: ${msg.message}`);
    }
  });
  worker.on('error', (error) => fallBack(error.message));
  worker.on('exit', (code) => fallBack(`exit ${code}`));

  return {
    stats: () => ({ ...stats }),
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref(); // keep the process alive until the worker has closed its connection
      worker.postMessage('stop');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
      await worker.terminate();
      // Leave the file as a fresh process would find it, and the connection as it was.
      if (db.open) {
        db.pragma('wal_autocheckpoint = 1000');
      }
    },
  };
}
