// The dashboard's aggregate queries, answered off the event loop by a worker thread
// (aggregates-worker.ts) that starts on first use and stops when the dashboard has been
// idle a minute, so a service nobody is watching pays nothing for it. An in-memory
// database (tests) cannot be shared with a thread; there the queries run inline.
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { projectPath } from '../paths.ts';
import { createDashboardQueries, type DashboardQueries } from './dashboard-queries.ts';
import type { Db } from './db.ts';

export type Aggregates = {
  [K in keyof DashboardQueries]: (...args: Parameters<DashboardQueries[K]>) => Promise<ReturnType<DashboardQueries[K]>>;
} & { close(): Promise<void> };

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

// From the sources (tests, `edgejail serve`) the worker is TypeScript too; the bundle
// `npm start` runs ships it as dist/server/aggregates-worker.mjs beside main.mjs.
const fromSources = import.meta.url.endsWith('.ts');
// Found from the project root, not from this module: in the CLI's bundle this code sits in a chunk elsewhere.
const WORKER_URL = fromSources ? new URL('./aggregates-worker.ts', import.meta.url) : pathToFileURL(projectPath('dist/server/aggregates-worker.mjs'));

export function createAggregates(db: Db, options: { idleMs?: number } = {}): Aggregates {
  const inline = createDashboardQueries(db);
  const names = Object.keys(inline) as Array<keyof DashboardQueries>;
  if (db.memory) {
    const methods = Object.fromEntries(names.map((name) => [name, async (...args: unknown[]) => (inline[name] as (...a: unknown[]) => unknown)(...args)]));
    return { ...methods, close: async () => undefined } as Aggregates;
  }

  const idleMs = options.idleMs ?? 60_000;
  let worker: Worker | null = null;
  let idleTimer: NodeJS.Timeout | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  function ensureWorker(): Worker {
    if (worker) return worker;
    const workerData = { file: db.name };
    const started = fromSources
      ? // Loader hooks do not follow a thread, so the worker registers tsx itself first.
        new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`, { eval: true, workerData })
      : new Worker(WORKER_URL, { workerData });
    started.unref();
    started.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      if (message.error !== undefined) p.reject(new Error(message.error));
      else p.resolve(message.result);
    });
    // A crashed worker fails what it was asked and is replaced on the next question.
    // (A worker stopped for idleness has nothing pending and is no longer `worker`.)
    started.on('error', (error) => {
      if (worker === started) failAll(error);
    });
    started.on('exit', (code) => {
      if (worker !== started) return;
      worker = null;
      failAll(new Error(`dashboard query worker exited (${code})`));
    });
    worker = started;
    return started;
  }

  function armIdleStop(): void {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (pending.size === 0 && worker) {
        worker.postMessage('stop');
        worker = null;
      }
    }, idleMs);
    idleTimer.unref();
  }

  function call(name: keyof DashboardQueries, args: unknown[]): Promise<unknown> {
    const target = ensureWorker();
    const id = nextId++;
    armIdleStop();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      target.postMessage({ id, name, args });
    });
  }

  const methods = Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => call(name, args)]));
  return {
    ...methods,
    async close() {
      if (idleTimer) clearTimeout(idleTimer);
      const current = worker;
      worker = null;
      if (current) await current.terminate();
      failAll(new Error('dashboard queries closed'));
    },
  } as Aggregates;
}
