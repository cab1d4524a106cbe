// The one owner of ban decisions: it asks the jail engine, applies every decision the
// engine returns (jail bans, manual bans and the recidive bans either may bring) as ban
// rows, audit entries and outbox work, lifts bans when they expire, and tells the
// enforcer after every commit that changed what Cloudflare must enforce.
import { HISTORY_SCAN_ROWS, type Store, type BanRow, type EventRow, type NewBan, type ScanBudget } from '../store/store.ts';
import { eventFindtimeMs, observeBan, observeEvent, observeForeignBan, observeUnban, rebuildKeyState, remembersBansOf, type BanDecision, type JailEvent, type JailState } from '../jail/engine.ts';
import { MANUAL_JAIL } from '../jail/jail-config.ts';
import { banDurationCapMessage, MAX_BAN_SECONDS } from '../config/duration.ts';
import { createBanLookup, type ActiveBanSummary } from './ban-lookup.ts';
import { createBanAdmission, type Refusal, type RefusalCause } from './ban-admission.ts';
import { pastBanOf, type BanHistory } from './ban-history.ts';

export type { ActiveBanSummary } from './ban-lookup.ts';

export interface BanServiceDeps {
  store: Store;
  jails: JailState;
  /** Each ip_key's past bans, read into the jails the first time this service meets the key. */
  history: BanHistory;
  now: () => number;
  limits: { maxActiveBans: number; maxNewBansPerSitePerMinute: number };
  /** Ban lookups kept in memory; the rest are answered from SQLite's index. */
  lookupCacheSize?: number;
  /** Called after a commit that changed what Cloudflare must enforce. */
  onEnforcementChange?: () => void;
  /** Called once per refused jail decision (for a metric). */
  onRefusal?: (cause: RefusalCause) => void;
}

/** A ban length the service will not place; a 400 when it reaches the HTTP edge. */
export class BanDurationError extends Error {
  readonly statusCode = 400;
  readonly code = 'invalid_duration';
}

/** A ban whose time was up before it arrived (a tool re-sending an old ban): nothing to enforce; a 409. */
export class BanEndedError extends Error {
  readonly statusCode = 409;
  readonly code = 'ban_already_ended';
}

export type ManualBanResult =
  | { outcome: 'banned'; ban: BanRow; extended: false }
  | { outcome: 'extended'; ban: BanRow; extended: true; previousExpiresAt: string }
  /** A manual ban reaching further exists: nothing changed, its reason included. */
  | { outcome: 'already_longer'; ban: BanRow; extended: false };

const iso = (ms: number) => new Date(ms).toISOString();
const MINUTE_MS = 60_000;
/** Own ban-change ids kept between two syncs (a tick of 250 ms): far above what one tick writes. */
const MAX_OWN_CHANGES = 20_000;
/** A foreign change reads the ip_key's latest bans: enough for escalation, which counts ended ones too. */
const FOREIGN_BANS_READ = 20;
/** A rolled-back key's newest events replayed into its windows: far more than any maxretry. */
const REBUILD_EVENTS = 2_000;
/** The LIMIT of store.banChangesSince. */
const BAN_CHANGES_PAGE = 10_000;

/** A stored event as the jails count it (a restart's replay, a rollback's rebuild). */
export function jailEventOf(row: EventRow): JailEvent {
  return { seq: row.seq, siteId: row.site_id, type: row.type as JailEvent['type'], ipKey: row.ip_key, username: row.username, weight: row.weight, occurredAtMs: Date.parse(row.occurred_at) };
}

export function createBanService({ store, jails, history, now, limits, lookupCacheSize = 10_000, onEnforcementChange, onRefusal }: BanServiceDeps) {
  const lookup = createBanLookup(store, lookupCacheSize);
  const admission = createBanAdmission(limits);
  let activeBans = store.countActiveBans();
  // Bans and unbans written by another process (the CLI, `edgejail tail`, an import) show
  // up in the audit log; following it keeps the cache, the jails and the count true
  // without re-reading every ban.
  let auditWatermark = store.lastAuditId();
  // The ban-change audit ids this process wrote, oldest first (SQLite hands them out in
  // commit order), so syncFromStore passes over our own. Bounded: an id dropped here only
  // makes our own change look foreign, and following a change is idempotent.
  const ownChanges: number[] = [];
  // Pushes to ownChanges so far; a rolled-back frame (a whole transaction, or one batch's
  // savepoint in a group commit) takes back what it pushed, since SQLite may hand those
  // ids out again to another process once ours commits without them.
  let ownPushes = 0;

  // What the open transaction changed, so the enforcer hears of it after the commit, and
  // the cache and the count are put right after a rollback.
  let depth = 0;
  let enforcementChanged = false;
  // Refusals reach the metric once their transaction commits: a batch rolled back and sent
  // again would otherwise count its refusals twice.
  const refusedUncommitted: RefusalCause[] = [];
  const touched = new Set<string>();
  // The keys and sites judged in the open transaction, in order: a savepoint that rolls back
  // rebuilds the jails' state of those it judged from what is still stored.
  // Flat, ip_key then site: an object an event was garbage for every event judged.
  const judged: string[] = [];
  const findtimeMs = eventFindtimeMs(jails);
  const NO_BANS: readonly BanRow[] = Object.freeze([]);

  /**
   * The keys judged in a rolled-back transaction, then those a cap pushed out of the jails
   * in it (their windows went for keys that are now gone): each rebuilt from what is stored.
   * The judged go first, so the room their rolled-back windows held is free again for the others.
   */
  function rebuildJudged(rolledBack: Array<{ ipKey: string; siteId: string | null }>): void {
    const sitesOf = new Map<string, Set<string>>();
    for (const { ipKey, siteId } of rolledBack) {
      if (!sitesOf.has(ipKey)) sitesOf.set(ipKey, new Set());
      if (siteId !== null) sitesOf.get(ipKey)!.add(siteId);
    }
    const scan = { rows: HISTORY_SCAN_ROWS };
    for (const [ipKey, sites] of sitesOf) rebuildKey(ipKey, sites, scan);
  }

  /**
   * A key's jail state from what is stored: its events of the last findtime, its bans. Past
   * the rows `scan` allows, a key is rebuilt from what was read: it may count less, never twice.
   */
  function rebuildKey(ipKey: string, sites: Set<string>, scan?: ScanBudget): void {
    const nowMs = now();
    const rows = store.countedEventsOfIpKeySince(ipKey, iso(nowMs - findtimeMs), REBUILD_EVENTS, scan);
    for (const row of rows) sites.add(row.site_id);
    rebuildKeyState(jails, ipKey, sites, { events: rows.map(jailEventOf), bans: history.read(ipKey) }, nowMs);
  }

  function transaction<T>(fn: () => T): T {
    depth++;
    const pushesBefore = ownPushes;
    const judgedBefore = judged.length;
    const refusedBefore = refusedUncommitted.length;
    const forgotten = (jails.forgotten ??= []);
    const forgottenBefore = forgotten.length;
    let result: T;
    try {
      result = store.transaction(fn);
    } catch (error) {
      depth--;
      const pairs = judged.splice(judgedBefore);
      const rolledBack: Array<{ ipKey: string; siteId: string | null }> = [];
      for (let i = 0; i < pairs.length; i += 2) rolledBack.push({ ipKey: pairs[i]!, siteId: pairs[i + 1]! });
      for (const key of forgotten.splice(forgottenBefore)) rolledBack.push(key);
      if (depth === 0) jails.forgotten = null;
      refusedUncommitted.length = refusedBefore;
      // A rolled-back savepoint (one batch of a group commit) undoes its bans too: what the
      // cache and the count learnt inside it is re-read, within the transaction still open.
      for (const ipKey of touched) lookup.forget(ipKey);
      activeBans = store.countActiveBans();
      ownChanges.splice(ownChanges.length - Math.min(ownPushes - pushesBefore, ownChanges.length));
      ownPushes = pushesBefore;
      if (depth === 0) {
        touched.clear();
        enforcementChanged = false;
      }
      // Last, so a read failing here (the disk that failed the batch) leaves the rest put right;
      // within what is still open (the group's transaction), or after the whole one: either
      // way without the rolled-back rows. The batch's own error is the one that matters.
      try {
        if (rolledBack.length) rebuildJudged(rolledBack);
      } catch {
        // The batch's error is thrown below and reported; the keys keep their entries, and a
        // resent batch may count twice, as it did before this rebuild existed.
      }
      throw error;
    }
    depth--;
    if (depth === 0) {
      jails.forgotten = null;
      judged.length = 0;
      touched.clear();
      for (const cause of refusedUncommitted.splice(0)) onRefusal?.(cause);
      if (enforcementChanged) {
        enforcementChanged = false;
        onEnforcementChange?.();
      }
    }
    return result;
  }

  /** An audit entry of a ban change (ban, unban, extend, expire) that syncFromStore must not follow back. */
  function auditChange(entry: Parameters<Store['audit']>[0]): void {
    ownChanges.push(store.audit(entry));
    ownPushes++;
    if (ownChanges.length > MAX_OWN_CHANGES) ownChanges.splice(0, ownChanges.length - MAX_OWN_CHANGES);
  }

  /** Takes over what another process committed for ipKey: the cached lookup, the jails' marks. */
  function followForeignChange(ipKey: string, nowMs: number): void {
    lookup.forget(ipKey);
    // A key whose history the jails have not read yet reads it, this change included, when next met.
    if (!remembersBansOf(jails, ipKey)) {
      history.forget(ipKey);
      return;
    }
    for (const row of store.bansForIpKey(ipKey, FOREIGN_BANS_READ)) {
      observeForeignBan(jails, pastBanOf(ipKey, row.jail, row.created_at, row.expires_at, row.lifted_at), nowMs);
    }
  }

  function changed(ipKey: string): void {
    lookup.forget(ipKey);
    // Remembered by the jails from now on; should they forget it (maxBanKeys), it is read again.
    history.forget(ipKey);
    touched.add(ipKey);
    enforcementChanged = true;
  }

  function insertBan(ban: NewBan, actor: string, detail: Record<string, unknown>): BanRow {
    const { id, site_urls } = store.insertBanWithSites(ban);
    auditChange({ at: ban.created_at, actor, action: 'ban', ip_key: ban.ip_key, ban_id: id, detail: { jail: ban.jail, reason: ban.reason, expires_at: ban.expires_at, ...detail } });
    store.enqueueEnforcement(ban.ip_key, ban.created_at);
    activeBans++;
    changed(ban.ip_key);
    return { ...ban, id, site_urls, lifted_at: null, lifted_by: null, state: 'active' };
  }

  // The event judgeEvent is judging, for its admission check: one function for every event
  // rather than a closure (and an array) made for each.
  const judging = { siteId: '', nowMs: 0, refused: [] as Array<{ decision: BanDecision; refusal: Refusal }> };
  function admitJudged(decision: BanDecision): boolean {
    const { siteId, nowMs } = judging;
    const refusal = admission.check(siteId, activeBans, nowMs);
    if (refusal) {
      judging.refused.push({ decision, refusal });
      return false;
    }
    admission.record(siteId, nowMs);
    store.onRollback(() => admission.unrecord(siteId, nowMs));
    return true;
  }

  /** Writes decisions and whatever bans they bring in turn (recidive), until none is left. */
  function applyDecisions(decisions: readonly BanDecision[], nowMs: number): BanRow[] {
    const created: BanRow[] = [];
    const pending = [...decisions];
    while (pending.length) {
      const d = pending.shift()!;
      const triggerEventIds = d.triggerEventSeqs.length ? store.eventIdsBySeq(d.triggerEventSeqs, d.ipKey) : [];
      const ban = insertBan({
        ip_key: d.ipKey,
        jail: d.jail,
        reason: d.reason,
        trigger_event_ids: JSON.stringify(triggerEventIds),
        ban_count: d.banCount,
        created_at: iso(nowMs),
        expires_at: iso(d.expiresAtMs),
      }, `jail:${d.jail}`, { ban_count: d.banCount, duration_seconds: d.durationSeconds, trigger_event_ids: triggerEventIds });
      created.push(ban);
      // Known to the engine already (it recorded its own decision): this only returns a
      // ban the engine has not yet been told of, which a restart would otherwise decide.
      pending.push(...observeBan(jails, { ipKey: ban.ip_key, jail: ban.jail, createdAtMs: nowMs, expiresAtMs: d.expiresAtMs, liftedAtMs: null }, nowMs));
    }
    return created;
  }

  // One audit entry per site and cause per minute: a flood of refusals must not become a
  // flood of audit rows. The metric counts every one.
  const refusalLog = new Map<string, { sinceMs: number; unlogged: number }>();
  function refuse(siteId: string, decision: BanDecision, refusal: Refusal, nowMs: number): void {
    if (depth > 0) refusedUncommitted.push(refusal.cause);
    else onRefusal?.(refusal.cause);
    const key = `${siteId}\u0000${refusal.cause}`;
    const log = refusalLog.get(key);
    if (log && nowMs - log.sinceMs < MINUTE_MS) {
      log.unlogged++;
      // The next audit entry counts the refusals since the last one that were kept.
      store.onRollback(() => log.unlogged--);
      return;
    }
    store.audit({
      at: iso(nowMs),
      actor: `jail:${decision.jail}`,
      action: 'ban_refused',
      ip_key: decision.ipKey,
      site_id: siteId,
      detail: {
        cause: refusal.cause,
        limit: refusal.limit,
        message: `ban not placed: ${refusal.message}; further refusals for this site this minute are counted in edgejail_bans_refused_total`,
        jail: decision.jail,
        reason: decision.reason,
        refused_since_previous_entry: log?.unlogged ?? 0,
      },
    });
    refusalLog.set(key, { sinceMs: nowMs, unlogged: 0 });
    // Its audit row gone with a rollback, the next refusal writes one.
    store.onRollback(() => (log ? refusalLog.set(key, log) : refusalLog.delete(key)));
  }

  function currentBan(ipKey: string, nowMs = now()): ActiveBanSummary | null {
    const ban = lookup.get(ipKey);
    return ban && ban.expiresAtMs > nowMs ? ban : null;
  }

  return {
    transaction,
    currentBan,
    activeCount: () => activeBans,
    cachedLookups: () => lookup.size(),
    /** One chunk of the lookup's, then the ban history's, filter warm-up; true when both are done. The background jobs drive it. */
    warmLookups: (chunk = 5_000) => lookup.warmUp(chunk) && history.warmUp(chunk),

    /**
     * Counts one stored event in the jails and applies what they decide, within the
     * admission limits. Call inside transaction(); returns the bans created.
     */
    judgeEvent(event: JailEvent, nowMs: number): readonly BanRow[] {
      history.ensure(event.ipKey, nowMs, lookup.inStep());
      if (depth > 0) judged.push(event.ipKey, event.siteId);
      judging.siteId = event.siteId;
      judging.nowMs = nowMs;
      const decisions = observeEvent(jails, event, nowMs, admitJudged);
      if (judging.refused.length) {
        for (const { decision, refusal } of judging.refused.splice(0)) refuse(event.siteId, decision, refusal, nowMs);
      }
      return decisions.length ? applyDecisions(decisions, nowMs) : NO_BANS;
    },

    /**
     * A manual ban. It extends the manual ban already on that ip_key rather than stacking
     * another, never shortens it, and applies any recidive ban it brings.
     */
    manualBan(input: {
      ipKey: string;
      durationSeconds: number;
      reason: string;
      actor: string;
      /** Another tool's jail (fail2ban:<name>): its ban is kept apart from the manual one. Default: manual. */
      jail?: string;
      /** When the ban began, if before now (a tool re-sending a live ban); it ends durationSeconds after. */
      startedAtMs?: number;
      /** The other tool's offence number for this IP (fail2ban's bancount); default 1. */
      banCount?: number;
    }): ManualBanResult {
      if (!Number.isFinite(input.durationSeconds) || input.durationSeconds <= 0) {
        throw new BanDurationError(`duration must be longer than 0 s`);
      }
      if (input.durationSeconds > MAX_BAN_SECONDS) throw new BanDurationError(`duration: ${banDurationCapMessage(input.durationSeconds)}`);
      const nowMs = now();
      const jail = input.jail ?? MANUAL_JAIL;
      // A start up to a second ahead is the other tool's rounding to whole seconds, kept so its re-bans match; further is a clock it cannot have.
      const startMs = Math.round(Math.min(input.startedAtMs ?? nowMs, nowMs + 1000));
      const expiresAtMs = startMs + Math.round(input.durationSeconds) * 1000;
      if (expiresAtMs <= nowMs) throw new BanEndedError(`the ban began at ${iso(input.startedAtMs!)} and ended at ${iso(expiresAtMs)}; nothing to enforce`);
      return transaction((): ManualBanResult => {
        // Before this ban is written: read afterwards, it would count as known already.
        history.ensure(input.ipKey, nowMs);
        const existing = store.activeBansForIpKey(input.ipKey).find((b) => b.jail === jail);
        if (existing) {
          if (Date.parse(existing.expires_at) >= expiresAtMs) return { outcome: 'already_longer', ban: existing, extended: false };
          store.extendBan(existing.id, iso(expiresAtMs), input.reason, input.banCount);
          auditChange({ at: iso(nowMs), actor: input.actor, action: 'extend', ip_key: input.ipKey, ban_id: existing.id, detail: { from: existing.expires_at, to: iso(expiresAtMs), reason: input.reason, ...(input.banCount !== undefined && { ban_count: input.banCount }) } });
          store.enqueueEnforcement(input.ipKey, iso(nowMs));
          changed(input.ipKey);
          return { outcome: 'extended', ban: store.banById(existing.id)!, extended: true, previousExpiresAt: existing.expires_at };
        }
        const ban = insertBan(
          { ip_key: input.ipKey, jail, reason: input.reason, trigger_event_ids: null, ban_count: input.banCount ?? 1, created_at: iso(nowMs), expires_at: iso(expiresAtMs) },
          input.actor,
          { duration_seconds: input.durationSeconds, ...(input.banCount !== undefined && { ban_count: input.banCount }) },
        );
        // A manual ban counts towards recidive like any other: apply what it brings.
        applyDecisions(observeBan(jails, { ipKey: input.ipKey, jail, createdAtMs: nowMs, expiresAtMs, liftedAtMs: null }, nowMs), nowMs);
        return { outcome: 'banned', ban, extended: false };
      });
    },

    /**
     * A ban another tool placed (fail2ban's database), with its own times and ban count: still
     * running, it is enforced like any other; ended, it is kept as history (for escalation).
     * A ban of that jail with the same start or end already stored is left alone (imports repeat).
     */
    importBan(input: { ipKey: string; jail: string; reason: string; banCount: number; startedAtMs: number; expiresAtMs: number; actor: string }):
      { outcome: 'active' | 'history' | 'present'; ban: BanRow } {
      const nowMs = now();
      const created = iso(input.startedAtMs);
      const expires = iso(input.expiresAtMs);
      return transaction(() => {
        history.ensure(input.ipKey, nowMs);
        const present = store.bansForIpKey(input.ipKey).find((b) => b.jail === input.jail && (b.created_at === created || b.expires_at === expires));
        if (present) return { outcome: 'present' as const, ban: present };
        const row = { ip_key: input.ipKey, jail: input.jail, reason: input.reason, trigger_event_ids: null, ban_count: input.banCount, created_at: created, expires_at: expires };
        if (input.expiresAtMs > nowMs) {
          const ban = insertBan(row, input.actor, { ban_count: input.banCount, imported: true });
          applyDecisions(observeBan(jails, { ipKey: input.ipKey, jail: input.jail, createdAtMs: input.startedAtMs, expiresAtMs: input.expiresAtMs, liftedAtMs: null }, nowMs), nowMs);
          return { outcome: 'active' as const, ban };
        }
        const id = store.insertBan(row);
        store.liftBan(id, expires, 'expiry');
        // Followed by other processes (syncFromStore) as a ban change: it is history their jails must read.
        auditChange({ at: iso(nowMs), actor: input.actor, action: 'import', ip_key: input.ipKey, ban_id: id, detail: { jail: input.jail, reason: input.reason, ban_count: input.banCount, created_at: created, expires_at: expires } });
        history.forget(input.ipKey);
        observeBan(jails, { ipKey: input.ipKey, jail: input.jail, createdAtMs: input.startedAtMs, expiresAtMs: input.expiresAtMs, liftedAtMs: null }, nowMs);
        return { outcome: 'history' as const, ban: store.banById(id)! };
      });
    },

    /**
     * Lifts every active ban on ipKey, or only those of `jail` (one fail2ban jail's unban leaves
     * another's ban standing); returns the bans lifted (empty when none was active).
     */
    unban(ipKey: string, actor: string, jail?: string): BanRow[] {
      const at = iso(now());
      const lifted = transaction(() => {
        const bans = store.activeBansForIpKey(ipKey).filter((b) => jail === undefined || b.jail === jail);
        for (const ban of bans) {
          if (store.liftBan(ban.id, at, actor)) activeBans--;
          auditChange({ at, actor, action: 'unban', ip_key: ipKey, ban_id: ban.id, detail: { jail: ban.jail } });
        }
        if (bans.length) {
          store.enqueueEnforcement(ipKey, at);
          changed(ipKey);
        }
        return bans;
      });
      if (lifted.length) {
        observeUnban(jails, ipKey, jail ?? null);
        // Inside a transaction of ours (a self-unlock's batch) that rolls back, the bans are
        // active again: the jails must not go on as if they were lifted.
        store.onRollback(() => rebuildKey(ipKey, new Set()));
      }
      return lifted;
    },

    /**
     * Picks up ban changes other processes committed since the last call: the CLI, a
     * separate `edgejail tail`, an import. Whoever the actor, only our own writes are
     * passed over. Returns the number of ip_keys taken over.
     */
    syncFromStore(): number {
      const version = lookup.dataVersion();
      const changes = store.banChangesSince(auditWatermark);
      // A full page may leave changes for the next call: the filter is not yet in step.
      if (changes.length < BAN_CHANGES_PAGE) lookup.markSynced(version);
      if (!changes.length) return 0;
      auditWatermark = changes[changes.length - 1]!.id;
      const ipKeys = new Set<string>();
      let own = 0;
      for (const change of changes) {
        while (own < ownChanges.length && ownChanges[own]! < change.id) own++; // never committed (or dropped)
        if (own < ownChanges.length && ownChanges[own] === change.id) {
          own++;
          continue;
        }
        if (change.ip_key) lookup.noteExternalChange(change.ip_key);
        ipKeys.add(change.ip_key);
      }
      ownChanges.splice(0, own);
      if (!ipKeys.size) return 0;
      const nowMs = now();
      for (const ipKey of ipKeys) followForeignChange(ipKey, nowMs);
      activeBans = store.countActiveBans();
      // Their outbox rows are ours to send: the enforcer runs in the service.
      onEnforcementChange?.();
      return ipKeys.size;
    },

    /** Lifts bans whose time is up (also those that expired while the service was down). */
    liftExpired(nowMs = now()): number {
      const at = iso(nowMs);
      const expired = store.expiredActiveBans(nowMs);
      if (!expired.length) return 0;
      transaction(() => {
        for (const ban of expired) {
          if (store.liftBan(ban.id, at, 'expiry')) activeBans--;
          auditChange({ at, actor: 'system', action: 'expire', ip_key: ban.ip_key, ban_id: ban.id, detail: { jail: ban.jail, expires_at: ban.expires_at } });
          store.enqueueEnforcement(ban.ip_key, at);
          changed(ban.ip_key);
        }
      });
      return expired.length;
    },
  };
}

export type BanService = ReturnType<typeof createBanService>;
