// The enforcer: drains the durable outbox the core fills, one ip_key (access rules) or
// one batch (lists) at a time, retries failures with backoff for as long as it takes,
// and reconciles Cloudflare with the bans table at start-up and periodically.
import { performance } from 'node:perf_hooks';
import {
  createEnforcementStore,
  enforcementStateOf,
  type CloudflareActionRow,
  type EnforcementState,
  type EnforcementStore,
} from '../store/enforcement.ts';
import type { Db } from '../store/db.ts';
import { createCloudflareApi, CloudflareCallError, type CloudflareApi } from './api.ts';
import { createAccessRulesBackend } from './access-rules-backend.ts';
import { createListBackend } from './list-backend.ts';
import { createDryRunBackend } from './dry-run-backend.ts';
import { isDryRun, type CloudflareConfig } from './config.ts';
import { KeyLocks } from './key-locks.ts';
import { sleep } from './rate-limiter.ts';
import { driftCount, emptyReport, iso, type EnforcementBackend, type KeyOutcome, type Logger, type ReconcileReport } from './state.ts';

export type { ReconcileReport } from './state.ts';

export type { EnforcementState } from '../store/enforcement.ts';

export interface EnforcerStatus {
  mode: 'enforcing' | 'dry_run';
  backend: CloudflareConfig['backend'];
  scope: string;
  running: boolean;
  outboxDepth: number;
  outboxDue: number;
  inFlight: number;
  states: Record<string, number>;
  lastReconcile: ReconcileReport | null;
  reconcileRunning: boolean;
  driftRepaired: number;
  apiCalls: number;
  limiterHeadroom: number | null;
  /** Calls the client-side limiter held back since start, and the time they waited in all. */
  limiterWaits: number;
  limiterWaitedMs: number;
  rateLimitedForMs: number;
  lastError: string | null;
}

export interface Enforcer {
  start(): Promise<void>;
  wake(): void;
  stop(): Promise<void>;
  reconcile(): Promise<ReconcileReport>;
  drain(): Promise<void>;
  status(): EnforcerStatus;
  enforcementStateOf(ipKey: string): EnforcementState;
  actionsFor(ipKey: string, limit?: number): CloudflareActionRow[];
}

export interface EnforcerOptions {
  db: Db;
  config: CloudflareConfig;
  logger: Logger;
  now?: () => number;
}

// Idle wake-up even without wake(): another process (the CLI) may have queued work.
const IDLE_POLL_MS = 2_000;
// How long stop() lets in-flight calls finish before aborting them.
const STOP_GRACE_MS = 3_000;
const DUE_FETCH_LIMIT = 2_000;

const describeError = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Waits for `promise` at most `ms`; true when it settled in time. Leaves no timer behind. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createEnforcer(options: EnforcerOptions): Enforcer {
  const { db, config, logger } = options;
  const now = options.now ?? Date.now;
  const store: EnforcementStore = createEnforcementStore(db);
  const dryRun = isDryRun(config);
  const stopController = new AbortController();
  const locks = new KeyLocks();
  const api: CloudflareApi | null = dryRun ? null : createCloudflareApi({ config, store, now, stopSignal: stopController.signal });
  const deps = { store, config, now, logger };
  const backend: EnforcementBackend = !api
    ? createDryRunBackend(deps)
    : config.backend === 'list'
      ? createListBackend({ ...deps, api, stopSignal: stopController.signal })
      : createAccessRulesBackend({ ...deps, api });

  let running = false;
  let stopping = false;
  let loop: Promise<void> | null = null;
  let reconcileTimer: NodeJS.Timeout | null = null;
  let reconciling: Promise<ReconcileReport> | null = null;
  let lastReconcile: ReconcileReport | null = null;
  let driftRepaired = 0;
  let lastError: string | null = null;
  const tasks = new Set<Promise<void>>();
  const working = new Set<string>(); // keys locked by worker tasks (the reconciler holds the others)
  let kick: (() => void) | null = null;
  let kicked = false;

  function wake(): void {
    kicked = true;
    kick?.();
  }

  /** Sleeps until wake(), a finished task, or `ms`, whichever comes first. */
  function waitForKick(ms: number): Promise<void> {
    if (kicked) {
      kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        kick = null;
        kicked = false;
        resolve();
      }
      kick = done;
    });
  }

  function backoffMs(attempts: number, error: unknown): number {
    const exponential = Math.min(config.retry.max_ms, config.retry.base_ms * 2 ** Math.min(30, Math.max(0, attempts - 1)));
    const jittered = exponential * (0.5 + Math.random() * 0.5);
    if (error instanceof CloudflareCallError && error.kind === 'rate_limited') {
      return Math.max(jittered, error.retryAfterMs ?? 0, api?.limiter.pausedForMs() ?? 0);
    }
    return jittered;
  }

  /**
   * Records a run's outcomes: done keys leave the outbox (unless re-queued meanwhile),
   * failed keys wait one shared backoff so a failed bulk call is retried as one batch.
   */
  function settleOutcomes(outcomes: KeyOutcome[], claims: Map<string, number>): void {
    const stopped = (e: unknown) => e instanceof CloudflareCallError && e.kind === 'stopped';
    const failed = outcomes.filter((o) => o.error && !o.permanent && !stopped(o.error));
    const attempts = Math.max(0, ...failed.map((o) => claims.get(o.ipKey) ?? 1));
    const delay = failed.length ? backoffMs(attempts, failed[0]!.error) : 0;
    const at = iso(now());
    store.transaction(() => {
      for (const outcome of outcomes) {
        const { ipKey, error } = outcome;
        const claimed = claims.get(ipKey)!;
        if (!error || outcome.permanent) {
          store.completeOutbox(ipKey, claimed);
          continue;
        }
        if (stopped(error)) continue; // picked up again at the next start
        const text = describeError(error);
        store.rescheduleOutbox(ipKey, claimed, iso(now() + delay), text);
        const row = store.enforcementOf(ipKey);
        if (row) store.saveEnforcement({ ...row, attempts: row.attempts + 1, last_error: text.slice(0, 500), updated_at: at });
      }
    });
    for (const o of outcomes.filter((o) => o.permanent)) {
      lastError = `${o.ipKey}: ${describeError(o.error)}`;
      logger.error({ ipKey: o.ipKey, err: describeError(o.error) }, 'ip_key cannot be enforced at Cloudflare; not retrying');
    }
    if (failed.length) {
      const err = describeError(failed[0]!.error);
      lastError = `${failed[0]!.ipKey}: ${err}`;
      const log = attempts >= 5 ? logger.error.bind(logger) : logger.warn.bind(logger);
      log(
        { ipKeys: failed.slice(0, 5).map((o) => o.ipKey), count: failed.length, attempt: attempts, retryInMs: Math.round(delay), err },
        'Cloudflare enforcement failed; will retry',
      );
    }
  }

  /** Claims keys, runs the backend on them, and records each outcome in the outbox. */
  async function runBatch(ipKeys: string[], releases: Array<() => void>): Promise<void> {
    const claims = new Map<string, number>();
    store.transaction(() => {
      for (const ipKey of ipKeys) {
        const claimed = store.claimOutbox(ipKey);
        if (claimed) claims.set(ipKey, claimed.attempts);
      }
    });
    const keys = ipKeys.filter((k) => claims.has(k));
    try {
      let outcomes: KeyOutcome[];
      try {
        outcomes = keys.length ? await backend.enforce(keys) : [];
      } catch (error) {
        outcomes = keys.map((ipKey) => ({ ipKey, error }));
      }
      settleOutcomes(outcomes, claims);
    } finally {
      releases.forEach((release) => release());
    }
  }

  async function workerLoop(): Promise<void> {
    while (!stopping) {
      try {
        let waitMs = IDLE_POLL_MS;
        if (tasks.size < backend.concurrency) {
          const due = store.dueOutbox(iso(now()), DUE_FETCH_LIMIT);
          const free = due.filter((row) => !locks.isLocked(row.ip_key));
          // Keys the reconciler holds right now: look again soon (tasks of ours wake us when done).
          if (due.some((row) => locks.isLocked(row.ip_key) && !working.has(row.ip_key))) waitMs = 200;
          for (let i = 0; i < free.length && tasks.size < backend.concurrency; i += backend.batchSize) {
            launch(free.slice(i, i + backend.batchSize).map((row) => row.ip_key));
          }
        }
        const next = store.nextOutboxAfter(iso(now()));
        if (next) waitMs = Math.min(waitMs, Math.max(0, Date.parse(next) - now()) + 1);
        await waitForKick(waitMs);
      } catch (error) {
        // SQLite busy or similar: wait and go on; the outbox keeps everything.
        lastError = String(error);
        logger.error({ err: String(error) }, 'enforcement worker error; retrying shortly');
        await sleep(500).catch(() => undefined);
      }
    }
  }

  function launch(ipKeys: string[]): void {
    const keys: string[] = [];
    const releases: Array<() => void> = [];
    for (const ipKey of ipKeys) {
      const release = locks.tryLock(ipKey);
      if (release) {
        keys.push(ipKey);
        working.add(ipKey);
        releases.push(() => {
          working.delete(ipKey);
          release();
        });
      }
    }
    if (!keys.length) return;
    const task: Promise<void> = runBatch(keys, releases)
      .catch((error) => {
        lastError = String(error);
        logger.error({ err: String(error) }, 'enforcement batch crashed; its keys stay queued');
      })
      .finally(() => {
        tasks.delete(task);
        wake();
      });
    tasks.add(task);
  }

  async function reconcile(): Promise<ReconcileReport> {
    if (reconciling) return reconciling;
    reconciling = (async () => {
      const started = performance.now();
      const revisions = new Map<string, number>();
      for (const row of db.prepare('SELECT ip_key, rev FROM cloudflare_enforcement').iterate() as IterableIterator<{ ip_key: string; rev: number }>) {
        revisions.set(row.ip_key, row.rev);
      }
      let report: ReconcileReport;
      try {
        report = await backend.reconcile({ locks, revisions });
      } catch (error) {
        report = { ...emptyReport(backend.name, iso(now())), errors: [error instanceof Error ? error.message : String(error)] };
      }
      report.durationMs = Math.round(performance.now() - started);
      lastReconcile = report;
      driftRepaired += driftCount(report);
      const level = report.errors.length ? 'warn' : driftCount(report) ? 'info' : 'debug';
      logger[level]({ ...report, errors: report.errors.slice(0, 5) }, 'Cloudflare reconcile finished');
      wake();
      return report;
    })().finally(() => {
      reconciling = null;
    });
    return reconciling;
  }

  return {
    async start() {
      if (running) return;
      // Its client is bound to a stop signal that has fired: a stopped enforcer stays stopped.
      if (stopController.signal.aborted) throw new Error('this enforcer was stopped; create a new one to start again');
      running = true;
      stopping = false;
      logger.info(
        { mode: dryRun ? 'dry_run' : 'enforcing', backend: config.backend, scope: backend.scopeLabel },
        dryRun ? 'Cloudflare enforcement in dry-run: no API token, decisions are recorded only' : 'Cloudflare enforcement started',
      );
      loop = workerLoop();
      // The start-up reconcile runs beside the worker: a slow Cloudflare must not hold up start-up.
      void reconcile().catch(() => undefined);
      reconcileTimer = setInterval(() => void reconcile().catch(() => undefined), config.reconcile_interval * 1000);
      reconcileTimer.unref();
    },

    wake,

    async stop() {
      if (!running) return;
      stopping = true;
      running = false;
      if (reconcileTimer) clearInterval(reconcileTimer);
      wake();
      const settled = Promise.all([loop, ...tasks, reconciling?.catch(() => undefined)]);
      const graceful = await withinMs(settled, STOP_GRACE_MS);
      if (!graceful) {
        // Whatever was in flight is recorded as uncertain and resolved at the next start.
        stopController.abort();
        api?.abortInFlight();
        await withinMs(settled, STOP_GRACE_MS);
      }
      stopController.abort();
      logger.info({ outboxDepth: store.outboxDepth() }, 'Cloudflare enforcement stopped');
    },

    reconcile,

    async drain() {
      if (!running) throw new Error('drain() needs a started enforcer');
      for (;;) {
        if (!tasks.size && !reconciling && store.outboxDueCount(iso(now())) === 0) return;
        await withinMs(Promise.race([...tasks, reconciling]), 20);
        await sleep(1);
      }
    },

    status(): EnforcerStatus {
      return {
        mode: dryRun ? 'dry_run' : 'enforcing',
        backend: config.backend,
        scope: backend.scopeLabel,
        running,
        outboxDepth: store.outboxDepth(),
        outboxDue: store.outboxDueCount(iso(now())),
        inFlight: locks.size,
        states: store.countByState(),
        lastReconcile,
        reconcileRunning: reconciling !== null,
        driftRepaired,
        apiCalls: api?.requestCount() ?? 0,
        limiterHeadroom: api?.limiter.headroom() ?? null,
        limiterWaits: api?.limiter.waits.count ?? 0,
        limiterWaitedMs: Math.round(api?.limiter.waits.ms ?? 0),
        rateLimitedForMs: Math.round(api?.limiter.pausedForMs() ?? 0),
        lastError,
      };
    },

    enforcementStateOf: (ipKey) => enforcementStateOf(db, ipKey, config, now()),

    actionsFor: (ipKey, limit) => store.actionsForIpKey(ipKey, limit),
  };
}
