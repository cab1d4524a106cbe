// The outbox worker: drains the durable outbox the core fills, decides where each ban is
// held (list, access rules, or the origin alone when the edge is full), retries failures
// with backoff for as long as it takes, moves waiting bans in when a slot frees, and runs
// the one reconciler at start-up and periodically.
import { performance } from 'node:perf_hooks';
import {
  createEnforcementStore,
  enforcementStateOf,
  placementOf,
  type CloudflareActionRow,
  type DesiredBlock,
  type EnforcementRow,
  type EnforcementState,
  type EnforcementStore,
  type ShownPlacement,
} from '../store/enforcement.ts';
import type { Db } from '../store/db.ts';
import { createCloudflareApi, CloudflareCallError, type CloudflareApi } from '../cloudflare/api.ts';
import { isDryRun, type CloudflareConfig } from '../cloudflare/config.ts';
import { sleep } from '../cloudflare/rate-limiter.ts';
import { createAccessRulesPlacement } from './placements/access-rules.ts';
import { createIpListPlacement } from './placements/ip-list.ts';
import { createDryRunPlacement } from './placements/dry-run.ts';
import { createShieldPlacement } from './placements/login-shield.ts';
import { siteOfShieldKey } from '../store/enforcement.ts';
import type { ShieldConfig } from '../shield/config.ts';
import { KeyLocks } from './key-locks.ts';
import { createRowStates } from './row-state.ts';
import { reconcilePlacements } from './reconciler.ts';
import { neverBanGuard, rangeKeyOf, wantedRanges, type RangeGuard } from './ranges.ts';
import { driftCount, emptyReport, iso, type IpPlacement, type KeyOutcome, type Logger, type PlaceRequest, type ReconcileReport } from './types.ts';
import { createDesiredView } from './desired.ts';
import { ipReconcile } from './ip-reconcile.ts';

export type { ReconcileReport } from './types.ts';

export type { EnforcementState, ShownPlacement } from '../store/enforcement.ts';

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
  /** How long the longest-waiting due outbox row has waited (0 when nothing is due). */
  outboxLagMs: number;
  /** Slots each placement holds, and how many it may (null: no count limits it). */
  capacity: Record<string, { used: number; capacity: number | null }>;
  /** Active bans by where they are held. */
  placements: Record<ShownPlacement, number>;
  /** The login shield's rules (shield_rules) by state, removed ones left out. */
  shieldRules: Record<string, number>;
  lastError: string | null;
}

export interface Enforcer {
  start(): Promise<void>;
  wake(): void;
  stop(): Promise<void>;
  reconcile(): Promise<ReconcileReport>;
  drain(): Promise<void>;
  status(): EnforcerStatus;
  /** status().mode without its counts: /healthz asks it, and a count over 200,000 bans took a second. */
  mode(): EnforcerStatus['mode'];
  enforcementStateOf(ipKey: string): EnforcementState;
  placementOf(ipKey: string): ShownPlacement | null;
  actionsFor(ipKey: string, limit?: number): CloudflareActionRow[];
}

export interface EnforcerOptions {
  db: Db;
  config: CloudflareConfig;
  logger: Logger;
  now?: () => number;
  /** Whether a range may be placed: false when it would cover an allowlisted or never-ban address. */
  rangeGuard?: RangeGuard;
  /** The login shield's rule settings; its rules are placed with the service's defaults without it. */
  shield?: Pick<ShieldConfig, 'action' | 'xmlrpc'>;
}

// Idle wake-up even without wake(): another process (the CLI) may have queued work.
const IDLE_POLL_MS = 2_000;
// How long stop() lets in-flight calls finish before aborting them.
const STOP_GRACE_MS = 3_000;
const DUE_FETCH_LIMIT = 2_000;
// Overflow access rules may use this share of the limiter's headroom: the rest stays for
// unbans and list calls, which must never wait behind the overflow.
const OVERFLOW_HEADROOM_SHARE = 0.5;
const OVERFLOW_RESERVE_SHARE = 0.25;
// How often an idle worker looks for a freed slot to give to the best waiting ban.
const PROMOTE_INTERVAL_MS = 1_000;
const PROMOTE_LIMIT = 5_000;
const PLACEMENT_COUNT_TTL_MS = 1_000;
// How often, at most, the active bans are grouped into ranges (a scan of every active ban).
const RANGE_PASS_INTERVAL_MS = 2_000;

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
  const rows = createRowStates(store, now);
  const desired = createDesiredView(store, now);
  const deps = { store, rows, config, now, logger, desired, ipReconcile: ipReconcile({ store, rows, now, desired }) };
  // The primary placement takes every ban it has room for; with the list backend, access
  // rules in the same account take the overflow.
  const backend: IpPlacement = !api
    ? createDryRunPlacement(deps)
    : config.backend === 'list'
      ? createIpListPlacement({ ...deps, api, stopSignal: stopController.signal })
      : createAccessRulesPlacement({ ...deps, api });
  const overflow: IpPlacement | null = api && config.backend === 'list' ? createAccessRulesPlacement({ ...deps, api }) : null;
  const placements = overflow ? [backend, overflow] : [backend];
  const shieldPlacement = createShieldPlacement({
    db, store, api, now, logger,
    config: options.shield ?? { action: 'managed_challenge', xmlrpc: 'block' },
    defaultZoneId: config.zone_id ?? null,
  });
  const placementNamed = (name: string | null) => placements.find((p) => p.name === name);
  let lastPromote = 0;
  const rangeGuard = options.rangeGuard ?? neverBanGuard;
  const rangesOn = !dryRun;
  let lastRangePass = Number.NEGATIVE_INFINITY;
  let lastRangePassMs = 0;
  let rangesDirty = true;

  /** What the edge must hold for a key: its bans, or for a range the bans it stands for. */
  const desiredOf = (key: string, at = iso(now())) => desired.one(key, at);
  /** The range at the edge that stands for this ban, if there is one. */
  function activeRangeFor(ipKey: string): string | null {
    const range = rangeKeyOf(ipKey);
    if (!range || !store.rangeMembers(range)?.includes(ipKey)) return null;
    const row = store.enforcementOf(range);
    return row && (row.state === 'active' || row.state === 'foreign') ? range : null;
  }

  /**
   * Groups the active bans into ranges: a range appears when enough bans share a /24 or /48
   * and it covers nothing protected, and goes when fewer than the threshold remain. Each
   * change is queued (the range, and the bans it stands for) and audited with the bans.
   */
  function aggregateRanges(): void {
    // The pass scans every active ban: never more than a twentieth of the worker's time.
    if (!rangesOn || !rangesDirty || now() - lastRangePass < Math.max(RANGE_PASS_INTERVAL_MS, 20 * lastRangePassMs)) return;
    lastRangePass = now();
    rangesDirty = false;
    const started = performance.now();
    try {
      regroupRanges();
    } finally {
      lastRangePassMs = performance.now() - started;
    }
  }

  function regroupRanges(): void {
    const at = iso(now());
    const active = store.desiredAll(at);
    const wanted = config.aggregate.enabled ? wantedRanges(active.keys(), config.aggregate, rangeGuard) : new Map<string, string[]>();
    const existing = new Map(store.ranges().map((r) => [r.rangeKey, r.members]));
    const banIds = (members: string[]) => members.map((m) => active.get(m)?.ban_id).filter((id): id is number => id !== undefined);
    store.transaction(() => {
      for (const [rangeKey, members] of wanted) {
        const before = existing.get(rangeKey);
        if (before && before.join() === members.join()) continue;
        store.saveRange(rangeKey, members, at);
        store.enqueue(rangeKey, at);
        store.auditSystem(at, before ? 'range_updated' : 'range_placed', rangeKey, null, { range: rangeKey, stands_for: members, ban_ids: banIds(members) });
      }
      for (const [rangeKey, members] of existing) {
        if (wanted.has(rangeKey)) continue;
        store.deleteRange(rangeKey);
        store.enqueue(rangeKey, at);
        // The bans it stood for get places of their own.
        for (const m of members) if (active.has(m)) store.enqueue(m, at);
        store.auditSystem(at, 'range_removed', rangeKey, null, { range: rangeKey, stood_for: members, remaining: members.filter((m) => active.has(m)) });
      }
    });
  }

  // Calls the overflow never takes: unbans of overflow rules cost one call each, and must not wait for a new window.
  const overflowReserve = Math.floor(config.rate_limit.requests * (1 - config.rate_limit.safety_margin) * OVERFLOW_RESERVE_SHARE);

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
  let placementCounts: { at: number; counts: Record<ShownPlacement, number>; stale: boolean } | null = null;
  let kicked = false;

  function wake(): void {
    if (placementCounts) placementCounts.stale = true; // bans or rows changed: counted again, at most once a second
    rangesDirty = true;
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
    if (placementCounts) placementCounts.stale = true;
    const stopped = (e: unknown) => e instanceof CloudflareCallError && e.kind === 'stopped';
    const failed = outcomes.filter((o) => o.error && !o.permanent && !stopped(o.error));
    const attempts = Math.max(0, ...failed.map((o) => claims.get(o.ipKey) ?? 1));
    const delay = failed.length ? backoffMs(attempts, failed[0]!.error) : 0;
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
        if (row) rows.attemptFailed(row, text);
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

  /** Slots a placement can still give out in this run (overflow: also within the API budget). */
  function freeSlots(placement: IpPlacement): number {
    const capacity = placement.capacity();
    let free = capacity === null ? Number.POSITIVE_INFINITY : Math.max(0, capacity - store.slotsUsed(placement.name as 'list' | 'access_rule'));
    if (placement === overflow && api) free = Math.min(free, Math.floor(Math.max(0, api.limiter.budgetLeft() - overflowReserve) * OVERFLOW_HEADROOM_SHARE));
    return free;
  }

  /**
   * Best first: a range (it stands for many bans), then the IP seen at the origin most
   * recently, then the longest ban left to run.
   */
  function byCost(requests: PlaceRequest[]): PlaceRequest[] {
    const seen = new Map(requests.map((r) => [r.ipKey, store.rangeMembers(r.ipKey) ? '\uffff' : (store.lastSeen(r.ipKey) ?? '')]));
    return [...requests].sort((a, b) => {
      const bySeen = seen.get(b.ipKey)!.localeCompare(seen.get(a.ipKey)!);
      return bySeen || b.desired.until.localeCompare(a.desired.until);
    });
  }

  /**
   * Gives each request the first placement with room, in order; the rest are held at the
   * origin. `given` counts the slots handed out earlier in this run, not yet in SQLite.
   */
  function assign(
    requests: PlaceRequest[],
    candidates: IpPlacement[],
    into: Map<IpPlacement, PlaceRequest[]>,
    outcomes: KeyOutcome[],
    given: Map<IpPlacement, number>,
  ): void {
    let rest = requests;
    const room = (p: IpPlacement) => Math.max(0, freeSlots(p) - (given.get(p) ?? 0));
    const total = candidates.reduce((n, p) => n + room(p), 0);
    if (rest.length > total) rest = byCost(rest); // scarce slots go to the bans that cost the origin most
    for (const placement of candidates) {
      const free = room(placement);
      if (free <= 0) continue;
      const taken = rest.slice(0, free);
      rest = rest.slice(taken.length);
      into.set(placement, [...(into.get(placement) ?? []), ...taken]);
      given.set(placement, (given.get(placement) ?? 0) + taken.length);
    }
    if (!rest.length) return;
    store.transaction(() => {
      for (const r of rest) {
        if (!(r.row?.placement === 'origin_only' && r.row.state === 'pending')) rows.originOnly(r.ipKey, r.desired.until);
        outcomes.push({ ipKey: r.ipKey });
      }
    });
    logger.warn({ count: rest.length, placements: candidates.map((p) => p.name) }, 'no edge slot free: bans held at the origin only until one frees up');
  }

  /** Makes the edge match the bans table for these keys: unbans first, then placements. */
  async function enforceKeys(ipKeys: string[]): Promise<KeyOutcome[]> {
    const at = iso(now());
    const outcomes: KeyOutcome[] = [];
    const lifts = new Map<IpPlacement, EnforcementRow[]>();
    const places = new Map<IpPlacement, PlaceRequest[]>();
    const unplaced: PlaceRequest[] = [];
    const joining = new Map<string, { range: string; until: string }>();
    for (const ipKey of ipKeys) {
      const desired = desiredOf(ipKey, at);
      const row = store.enforcementOf(ipKey);
      const holder = row && row.state !== 'removed' ? (row.state === 'dry_run' ? placementNamed('dry_run') : placementNamed(row.placement)) : undefined;
      const range = desired ? activeRangeFor(ipKey) : null;
      if (desired && range) {
        // A range at the edge stands for it: its own object goes, freeing the slot.
        const placed = holder && row!.state !== 'pending' && (row!.cloudflare_id || row!.create_uncertain || row!.state !== 'failed');
        if (placed) lifts.set(holder, [...(lifts.get(holder) ?? []), row!]);
        joining.set(ipKey, { range, until: desired.until });
        continue;
      }
      if (!desired) {
        const nothingPlaced = !row || row.state === 'removed' ||
          (!row.cloudflare_id && !row.create_uncertain && ['pending', 'failed', 'dry_run', 'foreign'].includes(row.state) && !(row.state === 'dry_run' && holder));
        if (nothingPlaced) {
          // Never delete an object we did not create; forget that it covered us.
          if (row && row.state !== 'removed') rows.removed(ipKey);
          outcomes.push({ ipKey });
        } else lifts.set(holder ?? backend, [...(lifts.get(holder ?? backend) ?? []), row!]);
        continue;
      }
      const request = { ipKey, desired, row };
      if (holder && !(row!.placement === 'origin_only')) places.set(holder, [...(places.get(holder) ?? []), request]);
      else unplaced.push(request);
    }
    // Unbans first: they are the promise this product keeps (and they free slots).
    for (const [placement, liftRows] of lifts) outcomes.push(...(await placement.lift(liftRows)));
    if (joining.size) {
      const failed = new Set(outcomes.filter((o) => o.error).map((o) => o.ipKey));
      store.transaction(() => {
        for (const [ipKey, { range, until }] of joining) {
          if (failed.has(ipKey)) continue;
          rows.inRange(ipKey, range, until);
          if (!outcomes.some((o) => o.ipKey === ipKey)) outcomes.push({ ipKey });
        }
      });
    }
    const given = new Map<IpPlacement, number>();
    assign(unplaced, placements, places, outcomes, given);
    const primary = await backend.place(places.get(backend) ?? []);
    given.delete(backend); // what the primary placed is in SQLite now
    const refused = primary.filter((o) => o.noRoom);
    outcomes.push(...primary.filter((o) => !o.noRoom));
    const overflowRequests = places.get(overflow!) ?? [];
    if (refused.length) {
      // The list said it is full: what it refused goes to the overflow, or the origin.
      const again = refused.map((o) => ({ ipKey: o.ipKey, desired: desiredOf(o.ipKey, at)!, row: store.enforcementOf(o.ipKey) })).filter((r) => r.desired);
      const spill = new Map<IpPlacement, PlaceRequest[]>();
      assign(again, overflow ? [overflow] : [], spill, outcomes, given);
      overflowRequests.push(...(spill.get(overflow!) ?? []));
      for (const o of refused) if (!again.some((r) => r.ipKey === o.ipKey)) outcomes.push({ ipKey: o.ipKey });
    }
    if (overflow && overflowRequests.length) outcomes.push(...(await overflow.place(overflowRequests)));
    // A range now at the edge: the bans it stands for give up their own objects.
    store.transaction(() => {
      for (const ipKey of ipKeys) {
        const members = store.rangeMembers(ipKey);
        if (!members || !activeRangeFor(members[0] ?? '')) continue;
        for (const m of members) if (store.enforcementOf(m)?.placement !== 'range') store.enqueue(m, at);
      }
    });
    return outcomes;
  }

  /**
   * When a slot is free and nothing is due, the best waiting bans are queued to move in.
   * Only when nothing is due: due work competes for the same slots, and a ban queued here is
   * then placed at once (no ban is queued that its slot cannot take).
   */
  function promoteWaiting(): void {
    if (now() - lastPromote < PROMOTE_INTERVAL_MS) return;
    lastPromote = now();
    const free = placements.reduce((n, p) => n + freeSlots(p), 0);
    if (free <= 0) return;
    const waiting = store.waitingForSlot(Math.min(free, PROMOTE_LIMIT));
    if (!waiting.length) return;
    const at = iso(now());
    store.transaction(() => waiting.forEach((w) => store.enqueue(w.ip_key, at)));
    logger.info({ count: waiting.length }, 'edge slots free: the best waiting bans move in');
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
    const claimed = ipKeys.filter((k) => claims.has(k));
    // Login shields (`shield:<site>`) go to their own placement; every other key is an ip_key or a range.
    const keys = claimed.filter((k) => !shieldPlacement.handles(k));
    try {
      let outcomes: KeyOutcome[];
      try {
        outcomes = keys.length ? await enforceKeys(keys) : [];
      } catch (error) {
        outcomes = keys.map((ipKey) => ({ ipKey, error }));
      }
      for (const key of claimed.filter(shieldPlacement.handles)) outcomes.push(await shieldPlacement.sync(key, siteOfShieldKey(key)!));
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
          if (!tasks.size) aggregateRanges();
          if (!tasks.size && store.outboxDueCount(iso(now())) === 0) promoteWaiting();
          // At least one full run's worth: each list run reads its ids back once, so fewer, larger runs cost fewer calls.
          const due = store.dueOutbox(iso(now()), Math.max(DUE_FETCH_LIMIT, backend.batchSize * backend.concurrency));
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
      for (const [ipKey, rev] of store.revisions()) revisions.set(ipKey, rev);
      let report: ReconcileReport;
      try {
        report = dryRun
          ? { ...emptyReport('dry_run', iso(now())), shield: { zones: 0, seen: 0, orphansRemoved: 0, missingReapplied: 0, idsRepaired: 0, outdatedQueued: 0, skippedBusy: 0, errors: [] } }
          : await reconcilePlacements({ store, now, shieldZones: shieldPlacement.zoneCount }, [...placements, shieldPlacement], { locks, revisions }, config.backend);
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

  // A count over every active ban: cached briefly (until the next change), since /healthz and each scrape read the status.
  function bansByPlacement(): Record<ShownPlacement, number> {
    if (!placementCounts || (placementCounts.stale && Math.abs(now() - placementCounts.at) >= PLACEMENT_COUNT_TTL_MS)) {
      placementCounts = { at: now(), counts: store.bansByPlacement(iso(now())), stale: false };
    }
    return placementCounts.counts;
  }

  function lagMs(): number {
    const oldest = store.oldestDue(iso(now()));
    return oldest ? Math.max(0, now() - Date.parse(oldest)) : 0;
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

    mode: () => (dryRun ? 'dry_run' : 'enforcing'),

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
        outboxLagMs: lagMs(),
        capacity: Object.fromEntries(
          placements.filter((p) => p.name !== 'dry_run').map((p) => [p.name, { used: store.slotsUsed(p.name as 'list' | 'access_rule'), capacity: p.capacity() }]),
        ),
        placements: bansByPlacement(),
        shieldRules: shieldPlacement.states(),
        lastError,
      };
    },

    enforcementStateOf: (ipKey) => enforcementStateOf(db, ipKey, config, now()),

    placementOf: (ipKey) => placementOf(db, ipKey, now()),

    actionsFor: (ipKey, limit) => store.actionsForIpKey(ipKey, limit),
  };
}
