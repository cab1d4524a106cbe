// The only place the core writes SQL: named prepared statements over the audit store,
// created once per database. Enforcement's own statements live in enforcement.ts.
import type { Db } from './db.ts';
import { preparedOnFirstUse, statementSources } from './prepared.ts';
import { AUDIT_MEMO, SITES_MEMO, turnMemo } from './turn-memo.ts';

export interface SiteRow {
  id: string;
  name: string;
  secret: string;
  created_at: string;
  secret_rotated_at: string | null;
  site_url: string | null;
  plugin_version: string | null;
  wp_version: string | null;
  last_hello_at: string | null;
  last_event_at: string | null;
  /** Set with `site add --zone/--host` or `site set` (migration 006); null means the default. */
  zone_id?: string | null;
  hostname?: string | null;
}
export type PublicSite = Omit<SiteRow, 'secret'>;

export interface EventRow {
  seq: number;
  id: string;
  site_id: string;
  type: string;
  ip: string;
  ip_key: string;
  username: string | null;
  user_agent: string | null;
  path: string | null;
  weight: number;
  occurred_at: string;
  received_at: string;
  ignored_reason: string | null;
  /** The blog of a network the event came from (migration 010); null when the plugin did not say. */
  site_url: string | null;
}
export type NewEvent = Omit<EventRow, 'seq' | 'site_url'> & { site_url?: string | null };

export interface BanRow {
  id: number;
  ip_key: string;
  jail: string;
  reason: string;
  trigger_event_ids: string | null;
  ban_count: number;
  created_at: string;
  expires_at: string;
  lifted_at: string | null;
  lifted_by: string | null;
  state: 'active' | 'lifted';
  /** JSON array of the blog URLs its trigger events came from (migration 010); null for manual bans. */
  site_urls: string | null;
}
/** What a listing of bans shows: at 10,000 bans, reading the other columns was a fifth of `edgejail bans`. */
export type BanListing = Pick<BanRow, 'id' | 'ip_key' | 'jail' | 'state' | 'expires_at' | 'reason'>;
const BAN_LISTING_COLUMNS = 'id, ip_key, jail, state, expires_at, reason';
export type NewBan = Pick<BanRow, 'ip_key' | 'jail' | 'reason' | 'trigger_event_ids' | 'ban_count' | 'created_at' | 'expires_at'>;

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  ip_key?: string | null;
  ban_id?: number | null;
  site_id?: string | null;
  detail?: unknown;
}

const PUBLIC_SITE_COLUMNS =
  'id, name, created_at, secret_rotated_at, site_url, plugin_version, wp_version, last_hello_at, last_event_at, zone_id, hostname';

/**
 * The events the open transaction inserted, flat, INSERTED_STRIDE values each: seq, hour,
 * ip_key, site_id, occurred_at, and received_at, or null for a self-unlock, which is no
 * report of an attempt. An object an event was a good part of an ingested event's garbage.
 */
type InsertedEvents = Array<number | string | null>;
const INSERTED_STRIDE = 6;

const ACTIVITY_UPDATE = `first_seq = min(first_seq, excluded.first_seq), last_seq = max(last_seq, excluded.last_seq),
  events = events + excluded.events, last_occurred_at = max(last_occurred_at, excluded.last_occurred_at),
  last_reported_at = nullif(max(coalesce(last_reported_at, ''), coalesce(excluded.last_reported_at, '')), '')`;

/**
 * Up to this many events a commit's activity is bound row by row; past it one INSERT …
 * SELECT reads it back from the new rows. Binding eight values costs ~3.5 µs a row: 16%
 * off batch-50 ingest over 100,000 addresses, where the statement's fixed cost took ~10%
 * off single-event ingest (interleaved runs, 2026-12-06).
 */
const BOUND_ACTIVITY_ROWS = 4;

/** An ISO time's hour, as ip_activity keys it: the SQL reads it as substr(received_at, 1, 13). */
// Every event of a batch has one received_at: its hour is cut once, not once an event.
let hourOfIso = '';
let hourOfHour = '';
const hourOf = (iso: string): string => (iso === hourOfIso ? hourOfHour : ((hourOfIso = iso), (hourOfHour = iso.slice(0, 13))));

/** The least step by which a site's last_event_at is rewritten (see touchSite). */
export const TOUCH_SITE_STEP_MS = 1_000;

/** Rows an address's history reads at most: about 100 ms of the event loop. */
export const HISTORY_SCAN_ROWS = 250_000;

/** The events rows a read may still go through (see eventsForIpKey). */
export interface ScanBudget {
  rows: number;
}

// A site's clock may run ahead of ours by up to the signature skew; an hour is well past it.
const RESTORE_ARRIVAL_MARGIN_MS = 3_600_000;

export function createStore(db: Db) {
  const s = preparedOnFirstUse({
    insertSite: () => db.prepare('INSERT INTO sites (id, name, secret, created_at) VALUES (?, ?, ?, ?)'),
    siteById: () => db.prepare('SELECT * FROM sites WHERE id = ?'),
    listSites: () => db.prepare(`SELECT ${PUBLIC_SITE_COLUMNS} FROM sites ORDER BY created_at`),
    rotateSecret: () => db.prepare('UPDATE sites SET secret = ?, secret_rotated_at = ? WHERE id = ?'),
    removeSite: () => db.prepare('DELETE FROM sites WHERE id = ?'),
    recordHello: () => db.prepare(
      'UPDATE sites SET site_url = ?, plugin_version = ?, wp_version = ?, last_hello_at = ? WHERE id = ?',
    ),
    touchSite: () => db.prepare('UPDATE sites SET last_event_at = ? WHERE id = ?'),

    insertEvent: () => db.prepare(`INSERT INTO events
      (id, site_id, type, ip, ip_key, username, user_agent, path, weight, occurred_at, received_at, ignored_reason, site_url)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO NOTHING`),
    // See migrations/011: one row per (hour, address, site) a commit inserted events for,
    // read back from the rows it inserted, or for a handful of events bound one by one.
    recordIpActivity: () => db.prepare(`INSERT INTO ip_activity
        (hour, ip_key, site_id, first_seq, last_seq, events, last_occurred_at, last_reported_at)
      SELECT substr(received_at, 1, 13), ip_key, site_id, min(seq), max(seq), count(*), max(occurred_at),
        max(CASE WHEN type <> 'self_unlock' THEN received_at END)
      FROM events WHERE seq >= ? GROUP BY 1, 2, 3
      ON CONFLICT (ip_key, hour, site_id) DO UPDATE SET ${ACTIVITY_UPDATE}`),
    upsertIpActivity: () => db.prepare(`INSERT INTO ip_activity
        (hour, ip_key, site_id, first_seq, last_seq, events, last_occurred_at, last_reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (ip_key, hour, site_id) DO UPDATE SET ${ACTIVITY_UPDATE}`),
    activityHoursOfIpKey: () => db
      .prepare('SELECT hour, min(first_seq), max(last_seq) FROM ip_activity WHERE ip_key = ? GROUP BY hour ORDER BY hour DESC')
      .raw(),
    // The hour too: batches staged in one group may arrive a moment out of seq order, so two
    // hours' seq ranges can overlap at the boundary, and an event must be read in one of them.
    eventsOfIpKeyInHour: () => db.prepare(
      'SELECT * FROM events WHERE seq BETWEEN ? AND ? AND ip_key = ? AND substr(received_at, 1, 13) = ? ORDER BY seq DESC LIMIT ?',
    ),
    siteReportedIpKeySince: () => db.prepare(
      `SELECT 1 FROM ip_activity WHERE ip_key = @ip_key AND hour >= substr(@since, 1, 13) AND site_id = @site_id
       AND last_reported_at >= @since LIMIT 1`,
    ),
    eventCountOfIpKey: () => db.prepare('SELECT coalesce(sum(events), 0) FROM ip_activity WHERE ip_key = ?').pluck(),
    // Rows are numbered as they are made, so the oldest hours come first.
    activityHoursAfter: () => db.prepare('SELECT id, hour FROM ip_activity WHERE id > ? ORDER BY id LIMIT ?').raw(),
    deleteActivityBefore: () => db.prepare('DELETE FROM ip_activity WHERE id > ? AND id <= ? AND hour < ?'),
    schemaVersion: () => db.prepare('PRAGMA user_version').pluck(),
    // received_at bounds the scan through its index; the margin keeps events a site spooled
    // or reported with a clock running ahead, whose occurred_at is later than their arrival.
    countedEventsSince: () => db.prepare(
      `SELECT * FROM events WHERE received_at > @received_from AND occurred_at > @from AND ignored_reason IS NULL
       ORDER BY occurred_at`,
    ),
    oldestEventSeqBefore: () => db.prepare('SELECT max(seq) AS seq FROM (SELECT seq FROM events WHERE received_at < ? ORDER BY seq LIMIT ?)'),
    deleteEventsUpToSeq: () => db.prepare('DELETE FROM events WHERE seq <= ? AND received_at < ?'),
    countEvents: () => db.prepare('SELECT count(*) AS n FROM events'),
    countEventsReceivedBetween: () => db.prepare('SELECT count(*) AS n FROM events WHERE received_at >= ? AND received_at < ?'),

    // The blogs attacked are read from the trigger events, stored in the same transaction before.
    insertBan: () => db.prepare(`INSERT INTO bans (ip_key, jail, reason, trigger_event_ids, ban_count, created_at, expires_at, state, site_urls)
      VALUES (@ip_key, @jail, @reason, @trigger_event_ids, @ban_count, @created_at, @expires_at, 'active',
        (SELECT nullif(json_group_array(site_url), '[]') FROM (SELECT DISTINCT e.site_url FROM json_each(coalesce(@trigger_event_ids, '[]')) AS t
          JOIN events AS e ON e.id = t.value WHERE e.site_url IS NOT NULL ORDER BY e.site_url)))
      RETURNING id, site_urls`),
    moveEventSeq: () => db.prepare('UPDATE events SET seq = ? WHERE seq = ?'),
    eventsBySeq: () => db.prepare('SELECT e.* FROM json_each(?) AS t JOIN events AS e ON e.seq = t.value'),
    // In the trigger's order; a ban is decided in the transaction that stored its events. The
    // address guards against a seq another process reused (see insertEvent).
    eventIdsBySeq: () => db
      .prepare('SELECT e.id FROM json_each(?) AS t JOIN events AS e ON e.seq = t.value WHERE e.ip_key = ? ORDER BY t.key')
      .pluck(),
    banById: () => db.prepare('SELECT * FROM bans WHERE id = ?'),
    activeBans: () => db.prepare("SELECT * FROM bans WHERE state = 'active' ORDER BY expires_at"),
    activeBanListing: () => db.prepare(`SELECT ${BAN_LISTING_COLUMNS} FROM bans WHERE state = 'active' ORDER BY expires_at`),
    activeBansForIpKey: () => db.prepare("SELECT * FROM bans WHERE state = 'active' AND ip_key = ? ORDER BY expires_at DESC"),
    furthestActiveBan: () => db.prepare("SELECT jail, expires_at FROM bans WHERE ip_key = ? AND state = 'active' ORDER BY expires_at DESC LIMIT 1"),
    countActiveBans: () => db.prepare("SELECT count(*) AS n FROM bans WHERE state = 'active'"),
    // The covering index in ip_key order: no temporary B-tree for DISTINCT, and a keyset to page by.
    activeBanIpKeysAfter: () => db
      .prepare("SELECT DISTINCT ip_key FROM bans INDEXED BY bans_ip_key_state WHERE state = 'active' AND ip_key > ? ORDER BY ip_key LIMIT ?")
      .pluck(),
    // Keyset pages by id from the first ban created after the look-back, for the ban history's
    // filter. Without statistics SQLite answers min(id) by walking the rowids from the start,
    // every ban older than the look-back: the created_at index finds the range instead.
    firstBanIdCreatedAfter: () => db.prepare('SELECT min(id) FROM bans INDEXED BY bans_created WHERE created_at > ?').pluck(),
    banIpKeysCreatedAfterFrom: () => db.prepare('SELECT id, ip_key FROM bans WHERE id >= ? AND created_at > ? ORDER BY id LIMIT ?').raw(),
    restorableBansOfIpKey: () => db.prepare('SELECT jail, created_at, expires_at, lifted_at FROM bans WHERE ip_key = ? AND created_at > ? ORDER BY created_at').raw(),
    dataVersion: () => db.prepare('PRAGMA data_version').pluck(),
    expiredActiveBans: () => db.prepare("SELECT * FROM bans WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT 1000"),
    nextExpiry: () => db.prepare("SELECT min(expires_at) AS at FROM bans WHERE state = 'active'"),
    liftBan: () => db.prepare("UPDATE bans SET state = 'lifted', lifted_at = ?, lifted_by = ? WHERE id = ? AND state = 'active'"),
    extendBan: () => db.prepare("UPDATE bans SET expires_at = ?, reason = ?, ban_count = max(ban_count, ?) WHERE id = ? AND state = 'active'"),
    bansForIpKey: () => db.prepare('SELECT * FROM bans WHERE ip_key = ? ORDER BY created_at DESC LIMIT ?'),
    recentBans: () => db.prepare('SELECT * FROM bans ORDER BY created_at DESC LIMIT ?'),
    recentBanListing: () => db.prepare(`SELECT ${BAN_LISTING_COLUMNS} FROM bans ORDER BY created_at DESC LIMIT ?`),
    countBansByState: () => db.prepare('SELECT state, count(*) AS n FROM bans GROUP BY state'),

    insertAudit: () => db.prepare(`INSERT INTO audit_log (at, actor, action, ip_key, ban_id, site_id, detail)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    lastAuditId: () => db.prepare('SELECT coalesce(max(id), 0) AS id FROM audit_log'),
    banChangesSince: () => db.prepare(`SELECT id, actor, ip_key FROM audit_log
      WHERE id > ? AND action IN ('ban', 'unban', 'extend', 'expire', 'import') ORDER BY id LIMIT 10000`),
    auditForIpKey: () => db.prepare('SELECT * FROM audit_log WHERE ip_key = ? ORDER BY at DESC, id DESC LIMIT ?'),
    unbansSince: () => db.prepare(`SELECT id, ip_key FROM audit_log
      WHERE id > ? AND action = 'unban' AND ip_key IS NOT NULL ORDER BY id LIMIT ?`),

    enqueueEnforcement: () => db.prepare(`INSERT INTO enforcement_outbox (ip_key, queued_at, next_attempt_at) VALUES (?, ?, ?)
      ON CONFLICT(ip_key) DO UPDATE SET queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at, attempts = 0`),

    listAllowlist: () => db.prepare('SELECT * FROM allowlist ORDER BY created_at'),
    addAllowlist: () => db.prepare(`INSERT INTO allowlist (cidr, note, created_at, created_by) VALUES (?, ?, ?, ?)
      ON CONFLICT(cidr) DO UPDATE SET note = excluded.note, expires_at = NULL`),
    // An expiring entry never shortens a permanent one or a later expiry.
    addExpiringAllowlist: () => db.prepare(`INSERT INTO allowlist (cidr, note, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(cidr) DO UPDATE SET expires_at = max(allowlist.expires_at, excluded.expires_at) WHERE allowlist.expires_at IS NOT NULL`),
    expiredAllowlist: () => db.prepare('SELECT cidr, expires_at FROM allowlist WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at'),
    removeAllowlist: () => db.prepare('DELETE FROM allowlist WHERE cidr = ?'),
  });

  // What the outermost open transaction of ours inserted, for ip_activity at its end (a
  // batch rolled back to its savepoint takes its part with it); null: none is open.
  let inserted: InsertedEvents | null = null;
  /** The highest seq this process has stored, rolled back or not (see insertEvent). */
  let highestSeq = 0;
  /** The last_event_at this process wrote per site, when it is on disk or goes with a rollback of ours (see touchSite). */
  const touchedAtMs = new Map<string, number>();
  /** What the transactions of ours open now run if they roll back, oldest first (see onRollback). */
  const undoLog: Array<() => void> = [];
  /** True while the outermost transaction is one this store began, not a savepoint in someone else's. */
  let outerIsOurs = false;
  const schemaVersion = s.schemaVersion.get() as number;

  // One better-sqlite3 transaction function, made once, that runs the innermost caller's
  // body: making one per call (four wrappers, each given five properties) was ~6 KB of
  // garbage per ingest request, which opens a savepoint or two per batch.
  const bodies: Array<() => unknown> = [];
  let runImmediate: (() => unknown) | undefined;
  function immediate<T>(fn: () => T): T {
    runImmediate ??= db.transaction(() => bodies[bodies.length - 1]!()).immediate;
    bodies.push(fn);
    try {
      return runImmediate() as T;
    } finally {
      bodies.pop();
    }
  }

  /**
   * BEGIN IMMEDIATE: the write lock is taken before the first read, so a busy lock is
   * waited for (busy_timeout). A deferred transaction that has read cannot wait: SQLite
   * answers BUSY at once when it must upgrade while the checkpointer or the CLI writes.
   */
  function transaction<T>(fn: () => T): T {
    // Nested in one of ours: a savepoint, whose rollback takes back its part of `inserted`.
    const open = inserted;
    // SQLite rolled the whole of ours back (a full disk) while its body still runs: what
    // follows must not commit on its own, outside it, and then count as rolled back with it.
    if (open !== null && !db.inTransaction) throw new Error('the transaction was rolled back by SQLite; nothing more is written in it');
    const mark = open?.length ?? 0;
    // A savepoint that commits leaves its hooks in the log: the enclosing one's rollback still takes them back.
    const undoMark = open !== null ? undoLog.length : 0;
    try {
      const result = open !== null ? immediate(fn) : outermost(fn);
      if (open === null) undoLog.length = 0;
      return result;
    } catch (error) {
      if (open !== null) open.length = mark;
      touchedAtMs.clear();
      undo(undoLog.splice(undoMark));
      throw error;
    }
  }

  function undo(hooks: Array<() => void>): void {
    for (let i = hooks.length - 1; i >= 0; i--) {
      try {
        hooks[i]!();
      } catch {
        // One that fails must not keep the rest from running, nor replace the error that rolled back.
      }
    }
  }

  /**
   * Runs `fn` if the innermost transaction of ours open now rolls back, or one around it
   * does, once SQLite has rolled it back: for state kept beside the rows (a quota in memory,
   * a cache read inside the transaction). Outside a transaction of ours nothing can roll
   * back, and `fn` is dropped.
   */
  function onRollback(fn: () => void): void {
    if (inserted !== null) undoLog.push(fn);
  }

  function outermost<T>(fn: () => T): T {
    // Opened inside a transaction of someone else's (a raw BEGIN, another store's), ours is
    // a savepoint that theirs may still roll back after we return.
    const ownsOuter = !db.inTransaction;
    return immediate(() => {
      // A newer edgejail migrated the database under this process: its writes would now
      // miss what the new schema relies on (011: events without their activity rows).
      const version = s.schemaVersion.get() as number;
      if (version !== schemaVersion) {
        throw new Error(`the database was upgraded to schema ${version} by a newer edgejail while this one ran on ${schemaVersion}: restart it`);
      }
      const mine: InsertedEvents = (inserted = []);
      outerIsOurs = ownsOuter;
      try {
        const result = fn();
        recordActivity(mine);
        return result;
      } finally {
        inserted = null;
        outerIsOurs = false;
      }
    });
  }

  function recordActivity(events: InsertedEvents): void {
    // SQLite rolled the whole transaction back (a full disk): its events are gone with it.
    if (events.length === 0 || !db.inTransaction) return;
    // The rows from the first survivor on are this transaction's: the write lock is ours, and
    // rows of a savepoint rolled back before it are gone.
    if (events.length > BOUND_ACTIVITY_ROWS * INSERTED_STRIDE) return void s.recordIpActivity.run(events[0] as number);
    const groups = new Map<string, [string, string, string, number, number, number, string, string | null]>();
    for (let i = 0; i < events.length; i += INSERTED_STRIDE) {
      const seq = events[i] as number;
      const hour = events[i + 1] as string;
      const ipKey = events[i + 2] as string;
      const siteId = events[i + 3] as string;
      const occurredAt = events[i + 4] as string;
      const reportedAt = events[i + 5] as string | null;
      const key = `${hour}\u0000${ipKey}\u0000${siteId}`;
      const g = groups.get(key);
      if (!g) {
        groups.set(key, [hour, ipKey, siteId, seq, seq, 1, occurredAt, reportedAt]);
        continue;
      }
      g[4] = seq;
      g[5]++;
      if (occurredAt > g[6]) g[6] = occurredAt;
      if (reportedAt !== null && (g[7] === null || reportedAt > g[7])) g[7] = reportedAt;
    }
    for (const g of groups.values()) s.upsertIpActivity.run(...g);
  }

  // A site's last_event_at is read in seconds and minutes (a metric's age, the silent-site
  // alert, `site list`). Writing it on every batch dirtied the sites table's page in every
  // commit and made the next turn read the site's row again (turn-memo.ts): 3-6% of what a
  // single-event request wrote. So it is written when it moves a second or more, or back.
  // What is remembered as written must be on disk or go with a rollback: a write that
  // failed is not remembered, a rollback of ours forgets all (transaction() above), and a
  // write inside someone else's transaction, which may roll back without us, is not kept.
  function touchSite(id: string, at: string): void {
    const ms = Date.parse(at);
    const last = touchedAtMs.get(id);
    if (last !== undefined && ms >= last && ms - last < TOUCH_SITE_STEP_MS) return;
    sites.forget();
    s.touchSite.run(at, id);
    if (!db.inTransaction || outerIsOurs) touchedAtMs.set(id, ms);
  }

  /** The new event's seq, or 0 when its id is stored already (a retried batch). */
  function insertEvent(e: NewEvent): number {
    // Outside a transaction of ours, the event and its activity row commit together here.
    if (inserted === null) return transaction(() => insertEvent(e));
    const info = s.insertEvent.run(e.id, e.site_id, e.type, e.ip, e.ip_key, e.username, e.user_agent, e.path, e.weight, e.occurred_at, e.received_at, e.ignored_reason, e.site_url ?? null);
    if (info.changes === 0) return 0;
    let seq = Number(info.lastInsertRowid);
    // SQLite hands out the highest seq left plus one: a seq freed by a rolled-back savepoint,
    // or by deleting the newest rows (a site removed, a short purge), comes back, and the
    // jails may still hold an entry naming it (they name a ban's trigger by seq). The seqs
    // this process hands out only go up; the rare reuse moves its row past them.
    if (seq <= highestSeq) {
      s.moveEventSeq.run(highestSeq + 1, seq);
      seq = highestSeq + 1;
    }
    highestSeq = seq;
    inserted.push(seq, hourOf(e.received_at), e.ip_key, e.site_id, e.occurred_at, e.type === 'self_unlock' ? null : e.received_at);
    return seq;
  }

  /**
   * The `limit` events of an address received last, read hour by hour; latest occurred_at
   * first. An hour's seq range holds every other address's events of that hour too, so the
   * rows read are capped: an address among a flood's thousands lists its newest events, not
   * all of them (eventCountOfIpKey says how many there are). `scan` may be shared by
   * several reads that must together stay within it; hours before `fromHour` are not read.
   */
  function eventsForIpKey(ipKey: string, limit = 500, scan: ScanBudget = { rows: HISTORY_SCAN_ROWS }, fromHour = ''): EventRow[] {
    const events: EventRow[] = [];
    for (const [hour, first, last] of s.activityHoursOfIpKey.iterate(ipKey) as IterableIterator<[string, number, number]>) {
      if (scan.rows <= 0 || hour < fromHour) break;
      const from = Math.max(first, last - scan.rows + 1);
      events.push(...(s.eventsOfIpKeyInHour.all(from, last, ipKey, hour, limit - events.length) as EventRow[]));
      scan.rows -= last - from + 1;
      if (events.length >= limit) break;
    }
    return events.sort((a, b) => (a.occurred_at === b.occurred_at ? b.seq - a.seq : a.occurred_at < b.occurred_at ? 1 : -1));
  }

  /**
   * ipKey's events the jails count (not ignored) that occurred after `sinceIso`, the open
   * transaction's included (ip_activity holds those only once it commits), at most `limit`
   * of the newest. For rebuilding a key's jail state after a savepoint rolled back: only
   * the hours that can hold them are read, within `scan`, which a rebuild of many keys
   * shares, so that one under a flood costs the event loop ~100 ms, not that per key.
   */
  function countedEventsOfIpKeySince(ipKey: string, sinceIso: string, limit: number, scan?: ScanBudget): EventRow[] {
    const fromHour = hourOf(new Date(Date.parse(sinceIso) - RESTORE_ARRIVAL_MARGIN_MS).toISOString());
    const open: number[] = [];
    if (inserted !== null) for (let i = 0; i < inserted.length; i += INSERTED_STRIDE) if (inserted[i + 2] === ipKey) open.push(inserted[i] as number);
    // A seq of a rolled-back savepoint has no row: its events are simply not found.
    const own = open.length ? (s.eventsBySeq.all(JSON.stringify(open)) as EventRow[]) : [];
    const bySeq = new Map<number, EventRow>();
    for (const row of [...eventsForIpKey(ipKey, limit, scan, fromHour), ...own]) {
      if (row.ignored_reason === null && row.occurred_at > sinceIso) bySeq.set(row.seq, row);
    }
    return [...bySeq.values()];
  }

  const sites = turnMemo<SiteRow | undefined>(db, SITES_MEMO);
  const readSite = (id: string) => s.siteById.get(id) as SiteRow | undefined;
  const auditIds = turnMemo<number>(db, AUDIT_MEMO);
  const readLastAuditId = () => (s.lastAuditId.get() as { id: number }).id;

  return {
    db,
    /** Each named statement's SQL (see statementSources). */
    get sql() {
      return statementSources(s);
    },
    transaction,
    onRollback,

    insertSite(site: { id: string; name: string; secret: string; created_at: string }): void {
      sites.forget();
      s.insertSite.run(site.id, site.name, site.secret, site.created_at);
    },
    /** The row as of this turn of the event loop (see turn-memo.ts). */
    siteById: (id: string) => sites.get(id, readSite),
    listSites: () => s.listSites.all() as PublicSite[],
    rotateSecret: (id: string, secret: string, at: string) => (sites.forget(), s.rotateSecret.run(secret, at, id).changes > 0),
    removeSite: (id: string) => (sites.forget(), touchedAtMs.delete(id), s.removeSite.run(id).changes > 0),
    recordHello(id: string, hello: { site_url: string | null; plugin_version: string | null; wp_version: string | null; at: string }) {
      sites.forget();
      s.recordHello.run(hello.site_url, hello.plugin_version, hello.wp_version, hello.at, id);
    },
    touchSite,

    /** Returns the new event's seq, or 0 for an event id already stored: the caller counts it as a duplicate. */
    // Positional: binding 13 named values from an object cost about 3 µs of every event's write.
    insertEvent,
    eventsForIpKey,
    countedEventsOfIpKeySince,
    /** The events stored for an address, about: an hour half purged still counts them all. */
    eventCountOfIpKey: (ipKey: string) => s.eventCountOfIpKey.get(ipKey) as number,
    /** Whether this site itself reported an attempt from ipKey since then (self-unlock's proof of a lock-out there). */
    siteReportedIpKeySince(siteId: string, ipKey: string, sinceIso: string): boolean {
      const q = { ip_key: ipKey, site_id: siteId, since: sinceIso };
      if (s.siteReportedIpKeySince.get(q) !== undefined) return true;
      // The open transaction's are not in ip_activity yet: a batch may report and unlock at once.
      if (inserted === null) return false;
      for (let i = 0; i < inserted.length; i += INSERTED_STRIDE) {
        const reportedAt = inserted[i + 5] as string | null;
        if (inserted[i + 2] === ipKey && inserted[i + 3] === siteId && reportedAt !== null && reportedAt >= sinceIso) return true;
      }
      return false;
    },
    countedEventsSince: (iso: string) =>
      s.countedEventsSince.iterate({ from: iso, received_from: new Date(Date.parse(iso) - RESTORE_ARRIVAL_MARGIN_MS).toISOString() }) as IterableIterator<EventRow>,
    countEvents: () => (s.countEvents.get() as { n: number }).n,
    countEventsReceivedBetween: (fromIso: string, toIso: string) => (s.countEventsReceivedBetween.get(fromIso, toIso) as { n: number }).n,
    /** Deletes one chunk of events received before `iso`; returns how many went. */
    purgeEventsChunk(iso: string, chunk: number): number {
      const { seq } = s.oldestEventSeqBefore.get(iso, chunk) as { seq: number | null };
      return seq === null ? 0 : s.deleteEventsUpToSeq.run(seq, iso).changes;
    },
    /**
     * Deletes the activity of hours wholly before `iso`, `chunk` rows read at a time, oldest
     * first, up to the first chunk with nothing to delete and nothing from after `nowIso`:
     * rows a clock run ahead made would otherwise stand first for good and stop every purge.
     */
    purgeActivity(iso: string, nowIso: string, chunk: number): number {
      const cutoff = hourOf(iso);
      const now = hourOf(nowIso);
      let after = 0;
      let deleted = 0;
      for (;;) {
        const rows = s.activityHoursAfter.all(after, chunk) as Array<[number, string]>;
        if (rows.length === 0) break;
        const last = rows.at(-1)![0];
        const old = rows.some(([, hour]) => hour < cutoff);
        if (old) deleted += s.deleteActivityBefore.run(after, last, cutoff).changes;
        if (!old && !rows.some(([, hour]) => hour > now)) break;
        after = last;
      }
      return deleted;
    },

    /**
     * The ids of ipKey's events with these seqs, in that order (a ban's trigger, which the
     * jails keep by seq). An event no longer stored (its site removed, purged, its batch
     * rolled back) is left out: the ban's reason still counts it.
     */
    eventIdsBySeq: (seqs: readonly number[], ipKey: string) => s.eventIdsBySeq.all(JSON.stringify(seqs), ipKey) as string[],
    insertBan: (ban: NewBan) => (s.insertBan.get(ban) as { id: number }).id,
    /** insertBan, and the blogs its trigger events came from (JSON, or null). */
    insertBanWithSites: (ban: NewBan) => s.insertBan.get(ban) as { id: number; site_urls: string | null },
    banById: (id: number) => s.banById.get(id) as BanRow | undefined,
    activeBans: () => s.activeBans.all() as BanRow[],
    activeBanListing: () => s.activeBanListing.all() as BanListing[],
    activeBansForIpKey: (ipKey: string) => s.activeBansForIpKey.all(ipKey) as BanRow[],
    /**
     * Active bans whose time is up. The index narrows by text, which orders like time only
     * while every expires_at is a four-digit-year ISO string (the ban length cap keeps it
     * so); the time itself is compared as a number.
     */
    expiredActiveBans: (nowMs: number) =>
      (s.expiredActiveBans.all(new Date(nowMs).toISOString()) as BanRow[]).filter((ban) => Date.parse(ban.expires_at) <= nowMs),
    furthestActiveBan: (ipKey: string) => s.furthestActiveBan.get(ipKey) as Pick<BanRow, 'jail' | 'expires_at'> | undefined,
    /** Up to `limit` ip_keys with an active ban, in ip_key order after `after` ('' = from the first). */
    activeBanIpKeysAfter: (after: string, limit: number) => s.activeBanIpKeysAfter.all(after, limit) as string[],
    /** What the jail engine's restore needs of ipKey's bans since `iso`, as [jail, created_at, expires_at, lifted_at] rows, oldest first. */
    firstBanIdCreatedAfter: (iso: string) => s.firstBanIdCreatedAfter.get(iso) as number | null,
    /** [id, ip_key] of bans created after `iso`, from id `fromId` on, in id order. */
    banIpKeysCreatedAfterFrom: (fromId: number, iso: string, limit: number) => s.banIpKeysCreatedAfterFrom.all(fromId, iso, limit) as Array<[number, string]>,
    restorableBansOfIpKey: (ipKey: string, iso: string) => s.restorableBansOfIpKey.all(ipKey, iso) as Array<[string, string, string, string | null]>,
    /** Changes whenever another connection (the CLI) commits. */
    dataVersion: () => s.dataVersion.get() as number,
    countActiveBans: () => (s.countActiveBans.get() as { n: number }).n,
    nextExpiry: () => (s.nextExpiry.get() as { at: string | null }).at,
    liftBan: (id: number, at: string, by: string) => s.liftBan.run(at, by, id).changes > 0,
    /** A longer end for an active ban; its ban count only ever grows (fail2ban's prolonged ban says which offence it is). */
    extendBan: (id: number, expiresAt: string, reason: string, banCount = 1) => s.extendBan.run(expiresAt, reason, banCount, id).changes > 0,
    bansForIpKey: (ipKey: string, limit = 200) => s.bansForIpKey.all(ipKey, limit) as BanRow[],
    recentBans: (limit: number) => s.recentBans.all(limit) as BanRow[],
    recentBanListing: (limit: number) => s.recentBanListing.all(limit) as BanListing[],
    countBansByState: () => s.countBansByState.all() as Array<{ state: string; n: number }>,

    /** Returns the entry's id. */
    audit(entry: AuditEntry): number {
      auditIds.forget();
      return Number(s.insertAudit.run(
        entry.at,
        entry.actor,
        entry.action,
        entry.ip_key ?? null,
        entry.ban_id ?? null,
        entry.site_id ?? null,
        entry.detail === undefined ? null : JSON.stringify(entry.detail),
      ).lastInsertRowid);
    },
    /** As of this turn of the event loop (see turn-memo.ts); a lower id than the newest is always a safe cursor. */
    lastAuditId: () => auditIds.get('last', readLastAuditId),
    banChangesSince: (id: number) => s.banChangesSince.all(id) as Array<{ id: number; actor: string; ip_key: string }>,
    auditForIpKey: (ipKey: string, limit = 500) => s.auditForIpKey.all(ipKey, limit) as Array<Record<string, unknown>>,
    /** Unbans audited after an audit id, oldest first (the plugins' origin caches follow them). */
    unbansSince: (id: number, limit: number) => s.unbansSince.all(id, limit) as Array<{ id: number; ip_key: string }>,

    enqueueEnforcement: (ipKey: string, at: string) => void s.enqueueEnforcement.run(ipKey, at, at),

    listAllowlist: () => s.listAllowlist.all() as Array<{ cidr: string; note: string | null; created_at: string; created_by: string; expires_at: string | null }>,
    addAllowlist: (cidr: string, note: string | null, at: string, by: string) => void s.addAllowlist.run(cidr, note, at, by),
    addExpiringAllowlist: (cidr: string, note: string | null, at: string, by: string, expiresAt: string) => void s.addExpiringAllowlist.run(cidr, note, at, by, expiresAt),
    expiredAllowlist: (at: string) => s.expiredAllowlist.all(at) as Array<{ cidr: string; expires_at: string }>,
    removeAllowlist: (cidr: string) => s.removeAllowlist.run(cidr).changes > 0,
  };
}

export type Store = ReturnType<typeof createStore>;
