// Enforcement's SQL: the per-ip_key state at Cloudflare, the outbox the core fills,
// the bans that decide what must be blocked, and the record of every API call.
import type { Db } from './db.ts';
import { preparedOnFirstUse, statementSources } from './prepared.ts';
import { AUDIT_MEMO, turnMemo } from './turn-memo.ts';

export type EnforcementRowState =
  | 'pending'
  | 'applying'
  | 'active'
  | 'removing'
  | 'removed'
  | 'failed'
  | 'foreign'
  | 'dry_run';

export interface EnforcementRow {
  ip_key: string;
  backend: string;
  scope: string | null;
  state: EnforcementRowState;
  cloudflare_id: string | null;
  create_uncertain: number;
  target: string | null;
  value: string | null;
  mode: string | null;
  notes: string | null;
  applied_until: string | null;
  foreign_rule_id: string | null;
  attempts: number;
  last_error: string | null;
  applied_at: string | null;
  updated_at: string;
  /** The slot this row holds or is being given: see migrations/005. */
  placement: PlacementName | null;
  rev: number;
}

/** Where a ban is held: at Cloudflare in a list item or an access rule, or only at the origin. */
export type PlacementName = 'list' | 'access_rule' | 'origin_only' | 'range';
/** What a person is shown per ban: a placement, or `pending` while none is in place yet. */
export type ShownPlacement = 'list' | 'access_rule' | 'range' | 'origin_only' | 'pending';
export const SHOWN_PLACEMENTS: readonly ShownPlacement[] = ['list', 'access_rule', 'range', 'origin_only', 'pending'];
export type EnforcementWrite = Omit<EnforcementRow, 'rev'>;

/** What the bans table wants at Cloudflare for one ip_key right now. */
export interface DesiredBlock {
  ip_key: string;
  until: string;
  jails: string[];
  ban_id: number;
}

export interface OutboxRow {
  ip_key: string;
  queued_at: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
}

export interface CloudflareActionRecord {
  at: string;
  ip_key?: string | null;
  ban_id?: number | null;
  operation: string;
  target?: string | null;
  outcome: 'ok' | 'error' | 'dry_run';
  http_status?: number | null;
  cf_error_codes?: number[] | null;
  error?: string | null;
  duration_ms?: number | null;
  batch_id?: number | null;
}

export interface CloudflareActionRow {
  id: number;
  at: string;
  ip_key: string | null;
  ban_id: number | null;
  operation: string;
  target: string | null;
  outcome: string;
  http_status: number | null;
  cf_error_codes: string | null;
  error: string | null;
  duration_ms: number | null;
  batch_id: number | null;
}

interface DesiredRaw {
  ip_key: string;
  until: string | null;
  jails: string | null;
  ban_id: number | null;
}

const toDesired = (raw: DesiredRaw | undefined): DesiredBlock | null =>
  raw && raw.until !== null
    ? { ip_key: raw.ip_key, until: raw.until, jails: JSON.parse(raw.jails ?? '[]') as string[], ban_id: raw.ban_id ?? 0 }
    : null;

export function createEnforcementStore(db: Db) {
  const s = preparedOnFirstUse({
    desiredFor: () => db.prepare(`SELECT ip_key, max(expires_at) AS until, json_group_array(DISTINCT jail) AS jails, max(id) AS ban_id
      FROM bans WHERE ip_key = ? AND state = 'active' AND expires_at > ?`),
    desiredAll: () => db.prepare(`SELECT ip_key, max(expires_at) AS until, json_group_array(DISTINCT jail) AS jails, max(id) AS ban_id
      FROM bans WHERE state = 'active' AND expires_at > ? GROUP BY ip_key`),
    latestBanId: () => db.prepare('SELECT max(id) AS id FROM bans WHERE ip_key = ?'),

    enforcementOf: () => db.prepare('SELECT * FROM cloudflare_enforcement WHERE ip_key = ?'),
    // What a listing shows needs only whether a block is wanted and where it stands.
    blockedIpKeys: () => db.prepare("SELECT DISTINCT ip_key FROM bans WHERE state = 'active' AND expires_at > ?").pluck(),
    isBlocked: () => db.prepare("SELECT 1 FROM bans WHERE ip_key = ? AND state = 'active' AND expires_at > ? LIMIT 1").pluck(),
    enforcementPlaces: () => db.prepare('SELECT ip_key, state, placement FROM cloudflare_enforcement'),
    saveEnforcement: () => db.prepare(`INSERT INTO cloudflare_enforcement
      (ip_key, backend, scope, state, cloudflare_id, create_uncertain, target, value, mode, notes, applied_until,
       foreign_rule_id, attempts, last_error, applied_at, updated_at, placement, rev)
      VALUES (@ip_key, @backend, @scope, @state, @cloudflare_id, @create_uncertain, @target, @value, @mode, @notes, @applied_until,
       @foreign_rule_id, @attempts, @last_error, @applied_at, @updated_at, @placement, 1)
      ON CONFLICT(ip_key) DO UPDATE SET backend = excluded.backend, scope = excluded.scope, state = excluded.state,
        cloudflare_id = excluded.cloudflare_id, create_uncertain = excluded.create_uncertain, target = excluded.target,
        value = excluded.value, mode = excluded.mode, notes = excluded.notes, applied_until = excluded.applied_until,
        foreign_rule_id = excluded.foreign_rule_id, attempts = excluded.attempts, last_error = excluded.last_error,
        applied_at = excluded.applied_at, updated_at = excluded.updated_at, placement = excluded.placement, rev = cloudflare_enforcement.rev + 1`),
    liveEnforcement: () => db.prepare(
      "SELECT * FROM cloudflare_enforcement WHERE state NOT IN ('removed') ORDER BY ip_key",
    ),
    countByState: () => db.prepare('SELECT state, count(*) AS n FROM cloudflare_enforcement GROUP BY state'),
    slotsUsed: () => db.prepare("SELECT count(*) AS n FROM cloudflare_enforcement WHERE placement = ? AND state != 'removed'"),
    // The bans waiting for an edge slot, best first: seen at the origin most recently, then
    // the longest left to run. A manual ban has no events, so it ranks by its expiry alone.
    waitingForSlot: () => db.prepare(`SELECT e.ip_key,
        (SELECT max(last_occurred_at) FROM ip_activity WHERE ip_key = e.ip_key) AS seen,
        (SELECT max(expires_at) FROM bans WHERE ip_key = e.ip_key AND state = 'active') AS until
      FROM cloudflare_enforcement e
      WHERE e.placement = 'origin_only' AND e.state = 'pending'
        AND NOT EXISTS (SELECT 1 FROM enforcement_outbox o WHERE o.ip_key = e.ip_key)
      ORDER BY seen IS NULL, seen DESC, until DESC LIMIT ?`),
    lastSeen: () => db.prepare('SELECT max(last_occurred_at) AS seen FROM ip_activity WHERE ip_key = ?'),
    bansByPlacement: () => db.prepare(`SELECT CASE
        WHEN e.state IN ('active', 'foreign') AND e.placement IN ('list', 'access_rule') THEN e.placement
        WHEN e.placement = 'range' THEN 'range'
        WHEN e.placement = 'origin_only' OR e.state = 'dry_run' THEN 'origin_only'
        ELSE 'pending' END AS placement, count(*) AS n
      FROM (SELECT DISTINCT ip_key FROM bans WHERE state = 'active' AND expires_at > ?) b
      LEFT JOIN cloudflare_enforcement e ON e.ip_key = b.ip_key GROUP BY 1`),
    ranges: () => db.prepare('SELECT range_key, members FROM enforcement_ranges'),
    rangeByKey: () => db.prepare('SELECT range_key, members FROM enforcement_ranges WHERE range_key = ?'),
    upsertRange: () => db.prepare(`INSERT INTO enforcement_ranges (range_key, members, created_at, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(range_key) DO UPDATE SET members = excluded.members, updated_at = excluded.updated_at`),
    deleteRange: () => db.prepare('DELETE FROM enforcement_ranges WHERE range_key = ?'),
    oldestDue: () => db.prepare('SELECT min(next_attempt_at) AS at FROM enforcement_outbox WHERE next_attempt_at <= ?'),

    dueOutbox: () => db.prepare('SELECT * FROM enforcement_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, ip_key LIMIT ?'),
    outboxRow: () => db.prepare('SELECT * FROM enforcement_outbox WHERE ip_key = ?'),
    claimOutbox: () => db.prepare('UPDATE enforcement_outbox SET attempts = attempts + 1 WHERE ip_key = ? RETURNING *'),
    completeOutbox: () => db.prepare('DELETE FROM enforcement_outbox WHERE ip_key = ? AND attempts = ?'),
    rescheduleOutbox: () => db.prepare(
      'UPDATE enforcement_outbox SET next_attempt_at = ?, last_error = ? WHERE ip_key = ? AND attempts = ?',
    ),
    enqueue: () => db.prepare(`INSERT INTO enforcement_outbox (ip_key, queued_at, next_attempt_at) VALUES (?, ?, ?)
      ON CONFLICT(ip_key) DO UPDATE SET queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at, attempts = 0`),
    outboxDepth: () => db.prepare('SELECT count(*) AS n FROM enforcement_outbox'),
    outboxDueCount: () => db.prepare('SELECT count(*) AS n FROM enforcement_outbox WHERE next_attempt_at <= ?'),
    nextOutboxAfter: () => db.prepare('SELECT min(next_attempt_at) AS at FROM enforcement_outbox WHERE next_attempt_at > ?'),
    outboxKeys: () => db.prepare('SELECT ip_key FROM enforcement_outbox'),
    revisions: () => db.prepare('SELECT ip_key, rev FROM cloudflare_enforcement'),

    insertAction: () => db.prepare(`INSERT INTO cloudflare_actions
      (at, ip_key, ban_id, operation, target, outcome, http_status, cf_error_codes, error, duration_ms, batch_id)
      VALUES (@at, @ip_key, @ban_id, @operation, @target, @outcome, @http_status, @cf_error_codes, @error, @duration_ms, @batch_id)`),
    insertBatch: () => db.prepare('INSERT INTO cloudflare_batches (at, operation, size) VALUES (?, ?, ?)'),
    insertBatchItem: () => db.prepare('INSERT OR IGNORE INTO cloudflare_batch_items (batch_id, ip_key) VALUES (?, ?)'),
    actionsForIpKey: () => db.prepare(`SELECT * FROM cloudflare_actions
      WHERE ip_key = @ip_key OR batch_id IN (SELECT batch_id FROM cloudflare_batch_items WHERE ip_key = @ip_key)
      ORDER BY id DESC LIMIT @limit`),
    countActions: () => db.prepare("SELECT count(*) AS n FROM cloudflare_actions WHERE outcome != 'dry_run'"),

    insertAudit: () => db.prepare(`INSERT INTO audit_log (at, actor, action, ip_key, ban_id, site_id, detail)
      VALUES (?, 'system', ?, ?, ?, NULL, ?)`),
  });

  return {
    /** Each named statement's SQL (see statementSources). */
    get sql() {
      return statementSources(s);
    },
    // IMMEDIATE: these transactions read before they write, and a deferred one cannot wait
    // for the write lock (SQLite answers BUSY at once while another connection holds it).
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),

    desiredFor: (ipKey: string, nowIso: string) => toDesired(s.desiredFor.get(ipKey, nowIso) as DesiredRaw),
    desiredAll(nowIso: string): Map<string, DesiredBlock> {
      const map = new Map<string, DesiredBlock>();
      for (const raw of s.desiredAll.iterate(nowIso) as IterableIterator<DesiredRaw>) {
        const desired = toDesired(raw);
        if (desired) map.set(desired.ip_key, desired);
      }
      return map;
    },
    latestBanId: (ipKey: string) => (s.latestBanId.get(ipKey) as { id: number | null }).id,

    enforcementOf: (ipKey: string) => s.enforcementOf.get(ipKey) as EnforcementRow | undefined,
    blockedIpKeys: (nowIso: string) => new Set(s.blockedIpKeys.all(nowIso) as string[]),
    isBlocked: (ipKey: string, nowIso: string) => s.isBlocked.get(ipKey, nowIso) !== undefined,
    enforcementPlaces: () => s.enforcementPlaces.all() as EnforcementPlace[],
    saveEnforcement: (row: EnforcementWrite) => void s.saveEnforcement.run(row),
    liveEnforcement: () => s.liveEnforcement.all() as EnforcementRow[],
    countByState: () => Object.fromEntries((s.countByState.all() as Array<{ state: string; n: number }>).map((r) => [r.state, r.n])),
    /** Slots a placement holds, from SQLite: never a read of Cloudflare. */
    slotsUsed: (placement: PlacementName) => (s.slotsUsed.get(placement) as { n: number }).n,
    waitingForSlot: (limit: number) => s.waitingForSlot.all(limit) as Array<{ ip_key: string; seen: string | null; until: string | null }>,
    lastSeen: (ipKey: string) => (s.lastSeen.get(ipKey) as { seen: string | null }).seen,
    bansByPlacement(nowIso: string): Record<ShownPlacement, number> {
      const counts = Object.fromEntries(SHOWN_PLACEMENTS.map((p) => [p, 0])) as Record<ShownPlacement, number>;
      for (const r of s.bansByPlacement.all(nowIso) as Array<{ placement: ShownPlacement; n: number }>) counts[r.placement] += r.n;
      return counts;
    },
    ranges: () => (s.ranges.all() as Array<{ range_key: string; members: string }>).map((r) => ({ rangeKey: r.range_key, members: JSON.parse(r.members) as string[] })),
    rangeMembers(rangeKey: string): string[] | null {
      const row = s.rangeByKey.get(rangeKey) as { members: string } | undefined;
      return row ? (JSON.parse(row.members) as string[]) : null;
    },
    saveRange: (rangeKey: string, members: string[], at: string) => void s.upsertRange.run(rangeKey, JSON.stringify(members), at, at),
    deleteRange: (rangeKey: string) => void s.deleteRange.run(rangeKey),
    /** When the longest-waiting due outbox row became due, or null when none is due. */
    oldestDue: (nowIso: string) => (s.oldestDue.get(nowIso) as { at: string | null }).at,

    dueOutbox: (nowIso: string, limit: number) => s.dueOutbox.all(nowIso, limit) as OutboxRow[],
    outboxRow: (ipKey: string) => s.outboxRow.get(ipKey) as OutboxRow | undefined,
    /** Marks one attempt started; the returned `attempts` identifies this claim. */
    claimOutbox: (ipKey: string) => s.claimOutbox.get(ipKey) as OutboxRow | undefined,
    /** Deletes the row only if nobody re-queued it since the claim (a re-queue resets attempts to 0). */
    completeOutbox: (ipKey: string, claimedAttempts: number) => s.completeOutbox.run(ipKey, claimedAttempts).changes > 0,
    rescheduleOutbox: (ipKey: string, claimedAttempts: number, nextIso: string, error: string) =>
      void s.rescheduleOutbox.run(nextIso, error.slice(0, 500), ipKey, claimedAttempts),
    enqueue: (ipKey: string, nowIso: string) => void s.enqueue.run(ipKey, nowIso, nowIso),
    outboxDepth: () => (s.outboxDepth.get() as { n: number }).n,
    outboxDueCount: (nowIso: string) => (s.outboxDueCount.get(nowIso) as { n: number }).n,
    /** When the next row waiting on backoff becomes due. */
    nextOutboxAfter: (nowIso: string) => (s.nextOutboxAfter.get(nowIso) as { at: string | null }).at,
    revisions: () => new Map((s.revisions.all() as Array<{ ip_key: string; rev: number }>).map((r) => [r.ip_key, r.rev])),
    outboxKeys: () => new Set((s.outboxKeys.all() as Array<{ ip_key: string }>).map((r) => r.ip_key)),

    recordAction(action: CloudflareActionRecord): void {
      s.insertAction.run({
        at: action.at,
        ip_key: action.ip_key ?? null,
        ban_id: action.ban_id ?? null,
        operation: action.operation,
        target: action.target ?? null,
        outcome: action.outcome,
        http_status: action.http_status ?? null,
        cf_error_codes: action.cf_error_codes?.length ? JSON.stringify(action.cf_error_codes) : null,
        error: action.error ? action.error.slice(0, 500) : null,
        duration_ms: action.duration_ms ?? null,
        batch_id: action.batch_id ?? null,
      });
    },
    /** Opens a batch for a bulk list operation and lists the ip_keys it carries. */
    createBatch(at: string, operation: 'add' | 'remove', ipKeys: string[]): number {
      return db.transaction(() => {
        const id = Number(s.insertBatch.run(at, operation, ipKeys.length).lastInsertRowid);
        for (const ipKey of ipKeys) s.insertBatchItem.run(id, ipKey);
        return id;
      }).immediate();
    },
    actionsForIpKey: (ipKey: string, limit = 200) => s.actionsForIpKey.all({ ip_key: ipKey, limit }) as CloudflareActionRow[],
    countApiActions: () => (s.countActions.get() as { n: number }).n,

    auditSystem(at: string, action: string, ipKey: string | null, banId: number | null, detail: unknown): void {
      turnMemo(db, AUDIT_MEMO).forget();
      s.insertAudit.run(at, action, ipKey, banId, JSON.stringify(detail));
    },
  };
}

export type EnforcementStore = ReturnType<typeof createEnforcementStore>;

// Per-database store for callers that hold only a Db (the CLI); statements prepared once.
const storesByDb = new WeakMap<Db, EnforcementStore>();
function storeFor(db: Db): EnforcementStore {
  let store = storesByDb.get(db);
  if (!store) storesByDb.set(db, (store = createEnforcementStore(db)));
  return store;
}

/** The outbox key the login shield of a site is queued under (the worker routes it to the shield placement). */
export const shieldOutboxKey = (siteId: string) => `shield:${siteId}`;
export const siteOfShieldKey = (key: string): string | null => (key.startsWith('shield:') ? key.slice('shield:'.length) : null);

/** Queues a key in the outbox, in the caller's transaction (the shield store uses it on raise and lower). */
export function enqueueEnforcementKey(db: Db, key: string, nowIso: string): void {
  storeFor(db).enqueue(key, nowIso);
}

export type EnforcementState = 'applied' | 'pending' | 'applying' | 'removing' | 'failed' | 'dry_run' | 'foreign' | null;

/**
 * What Cloudflare holds for an ip_key, in the words the API and dashboard use, from the
 * bans table and the enforcement row alone (so the CLI can answer without an enforcer).
 * `_config` is accepted for callers that have it; the rows already say whether we ran dry.
 */
export function enforcementStateOf(db: Db, ipKey: string, _config?: unknown, nowMs = Date.now()): EnforcementState {
  return enforcementViewOf(db, ipKey, nowMs).state;
}

type EnforcementPlace = Pick<EnforcementRow, 'ip_key' | 'state' | 'placement'>;
type EnforcementRowOf = EnforcementPlace | undefined;

/** `desired`: whether an active, unexpired ban wants this ip_key blocked. */
function stateFrom(desired: boolean, row: EnforcementRowOf): EnforcementState {
  if (!row) return desired ? 'pending' : null;
  if (row.placement === 'range' && desired) return 'applied';
  switch (row.state) {
    case 'active':
      return desired ? 'applied' : 'removing';
    case 'foreign':
    case 'dry_run':
      return desired ? row.state : null;
    case 'removed':
      return desired ? 'pending' : null;
    default:
      return row.state;
  }
}

function placementFrom(desired: boolean, row: EnforcementRowOf): ShownPlacement | null {
  if (!desired) return null;
  if (!row) return 'pending';
  if ((row.state === 'active' || row.state === 'foreign') && (row.placement === 'list' || row.placement === 'access_rule')) return row.placement;
  if (row.placement === 'range') return 'range';
  if (row.placement === 'origin_only' || row.state === 'dry_run') return 'origin_only';
  return 'pending';
}

/** Both at once, from one read of each row: what a listing of thousands of bans needs. */
export function enforcementViewOf(db: Db, ipKey: string, nowMs = Date.now()): { state: EnforcementState; placement: ShownPlacement | null } {
  const store = storeFor(db);
  // Only whether a block is wanted: desiredFor's jail list and JSON would be thrown away.
  const desired = store.isBlocked(ipKey, new Date(nowMs).toISOString());
  const row = store.enforcementOf(ipKey);
  return { state: stateFrom(desired, row), placement: placementFrom(desired, row) };
}

/**
 * enforcementViewOf for a listing of many bans: two reads in all (every desired block, every
 * enforcement row) instead of two queries per ban, which were most of `edgejail bans`' time.
 * A caller that has just read every active ban passes the keys those block (`blocked`), and
 * saves the first.
 */
export function enforcementViews(
  db: Db,
  nowMs = Date.now(),
  blocked: ReadonlySet<string> = storeFor(db).blockedIpKeys(new Date(nowMs).toISOString()),
): (ipKey: string) => { state: EnforcementState; placement: ShownPlacement | null } {
  const store = storeFor(db);
  const rows = new Map(store.enforcementPlaces().map((row) => [row.ip_key, row]));
  return (ipKey) => {
    const want = blocked.has(ipKey);
    const row = rows.get(ipKey);
    return { state: stateFrom(want, row), placement: placementFrom(want, row) };
  };
}

/**
 * Where this ip_key's ban is enforced, as `GET /v1/bans`, `edgejail bans` and the dashboard
 * show it; null when it has no active ban. Dry-run places nothing at the edge: origin only.
 */
export function placementOf(db: Db, ipKey: string, nowMs = Date.now()): ShownPlacement | null {
  return enforcementViewOf(db, ipKey, nowMs).placement;
}

/** Every Cloudflare call made for an ip_key (its own calls and the bulk calls that carried it), newest first. */
export function cloudflareActionsFor(db: Db, ipKey: string, limit = 200): CloudflareActionRow[] {
  return storeFor(db).actionsForIpKey(ipKey, limit);
}
