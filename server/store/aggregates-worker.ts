// Worker thread entry: answers the dashboard's aggregate queries from its own read-only
// connection. Over a day of a flood these scan hundreds of thousands of events (about
// two seconds for 400,000 here); on the main thread that would stall ingest exactly
// when an admin opens the dashboard to watch the attack.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { createDashboardQueries, type DashboardQueries } from './dashboard-queries.ts';
import { PAGE_CACHE_PRAGMA } from './page-cache.ts';

const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma(PAGE_CACHE_PRAGMA);
const queries = createDashboardQueries(db);

parentPort!.on('message', (message: { id: number; name: keyof DashboardQueries; args: unknown[] } | 'stop') => {
  if (message === 'stop') {
    db.close();
    parentPort!.close();
    return;
  }
  const { id, name, args } = message;
  try {
    const run = queries[name] as (...a: unknown[]) => unknown;
    parentPort!.postMessage({ id, result: run(...args) });
  } catch (error) {
    parentPort!.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
