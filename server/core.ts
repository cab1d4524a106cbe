// The service's parts wired together over one database: used by the HTTP app and the
// CLI alike, so a ban from the command line follows exactly the path of a jail's ban.
import type { Config } from './config/schema.ts';
import { dataVersion, type Db } from './store/db.ts';
import { createStore, type BanRow } from './store/store.ts';
import { createBanService, jailEventOf } from './bans/ban-service.ts';
import { createBanHistory } from './bans/ban-history.ts';
import { createJailState, eventFindtimeMs, restoreJailState, type JailEvent } from './jail/engine.ts';
import type { RefusalCause } from './bans/ban-admission.ts';
import { CidrSet, keyOfNetwork, parseCidr } from './jail/ip.ts';
import { NEVER_BAN_RANGES } from './jail/never-ban.ts';
import { parseAllowlistEntry } from './jail/allowlist-entry.ts';
import { ipKeyFromInput, judgeAddress } from './jail/bannable.ts';
import { createShieldService } from './shield/shield-service.ts';

// A site may free at most this many addresses an hour by self-unlock (see selfUnlock).
export const SELF_UNLOCKS_PER_SITE_PER_HOUR = 10;

// Escalation looks back this far for earlier bans of the same IP.
const BAN_HISTORY_DAYS = 30;
// Active keys read per page when looking for bans on protected addresses.
const SWEEP_PAGE = 10_000;

export interface CoreOptions {
  now?: () => number;
  /** After every commit that changed what Cloudflare must enforce (the enforcer's wake). */
  onEnforcementChange?: () => void;
  /** Once per jail ban refused by overload.max_active_bans or the per-site quota. */
  onBanRefused?: (cause: RefusalCause) => void;
  /** After a site's login shield went up or down. */
  onShieldChange?: (siteId: string) => void;
}

export function createCore(config: Config, db: Db, options: CoreOptions = {}) {
  const now = options.now ?? Date.now;
  const store = createStore(db);
  const jails = createJailState(config.jails, {
    maxTrackedKeys: config.overload.max_tracked_keys_per_jail,
    // Every active ban's key plus room for the recently ended ones that escalation remembers.
    maxBanKeys: config.overload.max_active_bans + Math.ceil(config.overload.max_active_bans / 4),
  });
  const history = createBanHistory(store, jails, { sinceMs: banHistoryFrom(now()) });
  restoreJails();
  const bans = createBanService({
    store,
    jails,
    history,
    now,
    limits: { maxActiveBans: config.overload.max_active_bans, maxNewBansPerSitePerMinute: config.overload.max_new_bans_per_site_per_minute },
    onEnforcementChange: options.onEnforcementChange,
    onRefusal: options.onBanRefused,
  });
  const neverBan = new CidrSet(NEVER_BAN_RANGES);
  // Entries past their expiry (a self-unlock's) protect nobody, even before the sweep removes them.
  const inForce = () => {
    const at = new Date(now()).toISOString();
    return store.listAllowlist().filter((entry) => !entry.expires_at || entry.expires_at > at).map((entry) => entry.cidr);
  };
  let runtimeEntries = inForce();
  let allowlist = buildAllowlist();
  // Another process (the CLI) changing the allowlist shows as a new data_version.
  let seenDataVersion = dataVersion(db);
  const selfUnlocks = new Map<string, number[]>(); // per site: when it last unlocked (at most the quota each)
  const shield = createShieldService({ db, store, config: config.shield, defaultZoneId: config.cloudflare.zone_id ?? null, now, onShieldChange: (siteId) => options.onShieldChange?.(siteId) });

  function buildAllowlist(): CidrSet {
    return new CidrSet([...config.allowlist, ...runtimeEntries]);
  }

  function reloadAllowlist(): boolean {
    const entries = inForce();
    if (entries.length === runtimeEntries.length && entries.every((cidr, i) => cidr === runtimeEntries[i])) return false;
    runtimeEntries = entries;
    allowlist = buildAllowlist();
    return true;
  }

  /**
   * Lifts, through the ban service's own unban (audit, outbox, Cloudflare), every active ban
   * whose key reaches an address of `protectedSets`: bans inside an allowlisted range, and
   * wider keys (an IPv6 /64) holding a protected address.
   */
  function liftBansReaching(protectedSets: readonly CidrSet[], actor: string): BanRow[] {
    const lifted: BanRow[] = [];
    for (let after: string | null = ''; after !== null; ) {
      const page = liftBansReachingAmong(protectedSets, actor, after, SWEEP_PAGE);
      lifted.push(...page.lifted);
      after = page.next;
    }
    return lifted;
  }

  /** liftBansReaching over one page of active keys in ip_key order; `next` is null after the last. */
  function liftBansReachingAmong(protectedSets: readonly CidrSet[], actor: string, after: string, limit: number): { lifted: BanRow[]; next: string | null } {
    // Only the keys: at 200,000 active bans whole rows cost a second.
    const page = store.activeBanIpKeysAfter(after, limit);
    const reaching = page.filter((ipKey) => {
      const network = parseCidr(ipKey);
      return network !== null && protectedSets.some((set) => set.overlaps(network));
    });
    return { lifted: reaching.flatMap((ipKey) => bans.unban(ipKey, actor)), next: page.length < limit ? null : page[page.length - 1]! };
  }

  /** Bans created after this still count for escalation and recidive. */
  function banHistoryFrom(nowMs: number): number {
    const maxFindtime = Math.max(0, ...Object.values(config.jails).map((jail) => jail.findtime));
    return nowMs - Math.max(maxFindtime * 1000, BAN_HISTORY_DAYS * 86_400_000);
  }

  /**
   * Rebuilds the sliding windows from SQLite, with the past bans of the keys they hold: a
   * restart forgets nothing. Every other key's bans are read when the service first meets
   * that key (history.ensure), so start-up reads no more bans than the recent events need.
   */
  function restoreJails(): void {
    const nowMs = now();
    // Only jails that count events need events; recidive's day of findtime counts bans.
    const eventsFrom = new Date(nowMs - eventFindtimeMs(jails)).toISOString();
    const events: JailEvent[] = [];
    for (const row of store.countedEventsSince(eventsFrom)) events.push(jailEventOf(row));
    const keys = new Set(events.map((event) => event.ipKey));
    restoreJailState(jails, { events, bans: [...keys].flatMap((ipKey) => history.read(ipKey)) }, nowMs);
  }

  /** An allowlist entry that expires (self-unlock), lifting every ban it covers. */
  function allowUntil(ip: string, note: string, actor: string, expiresAtMs: number): { cidr: string; lifted: BanRow[] } {
    const entry = parseAllowlistEntry(ip, {});
    const at = new Date(now()).toISOString();
    const expiresAt = new Date(expiresAtMs).toISOString();
    store.transaction(() => {
      store.addExpiringAllowlist(entry.cidr, note, at, actor, expiresAt);
      store.audit({ at, actor, action: 'allowlist_add', ip_key: entry.cidr, detail: { note, expires_at: expiresAt } });
    });
    // Read inside the caller's transaction (a self-unlock's batch): if that rolls back, the
    // entry is gone from the database, and must not stay in force, unaudited, in memory.
    reloadAllowlist();
    store.onRollback(() => {
      seenDataVersion = -1; // should this reload fail, the next sync from the store retries it
      reloadAllowlist();
    });
    return { cidr: entry.cidr, lifted: liftBansReaching([new CidrSet([entry.cidr])], actor) };
  }

  return {
    config,
    db,
    store,
    jails,
    bans,
    shield,
    now,
    ignoreLists: () => ({ allowlist, neverBan }),
    /** Whether an address may be banned, and the key it is counted and banned under. */
    judgeAddress: (text: string) => judgeAddress(text, { allowlist, neverBan }, config.ipv6_prefix),
    /** The ip_key an admin names: an address keyed as the jails key it, or a network as written. */
    ipKeyFromInput: (text: string) => ipKeyFromInput(text, { allowlist, neverBan }, config.ipv6_prefix),
    /** Config entries (fixed until restart) and runtime entries (API, dashboard, CLI). */
    allowlistEntries: () => ({ config: config.allowlist, runtime: store.listAllowlist() }),
    /**
     * Allowlists an address or range (canonical spelling; /0 only when forced) and lifts every
     * ban it covers or that covers part of it. Throws AllowlistEntryError on a refused entry.
     */
    addAllowlist(input: string, note: string | null, actor: string, options: { force?: boolean } = {}): { cidr: string; lifted: BanRow[] } {
      const entry = parseAllowlistEntry(input, options);
      const at = new Date(now()).toISOString();
      store.transaction(() => {
        store.addAllowlist(entry.cidr, note, at, actor);
        store.audit({ at, actor, action: 'allowlist_add', ip_key: entry.cidr, detail: { note, ...(options.force ? { force: true } : {}) } });
      });
      reloadAllowlist();
      return { cidr: entry.cidr, lifted: liftBansReaching([new CidrSet([entry.cidr])], actor) };
    },
    /**
     * Allowlists one address until `expiresAt` (a self-unlock) and lifts the bans reaching it,
     * audited under `actor`. An address already allowlisted for good stays so.
     */
    /**
     * A site's signed `self_unlock`: honoured only for an address that site itself reported in
     * the last day, and at most SELF_UNLOCKS_PER_SITE_PER_HOUR times an hour per site, so a
     * leaked site secret can free a handful of addresses, never allowlist a botnet. A refusal
     * is audited. Call inside the batch's transaction.
     */
    selfUnlock(siteId: string, ip: string, username: string): 'unlocked' | 'not_reported_here' | 'over_quota' {
      const nowMs = now();
      const actor = `user:${username}`;
      const verdict = judgeAddress(ip, { allowlist, neverBan }, config.ipv6_prefix);
      const ipKey = verdict?.ipKey ?? ip;
      const refuse = (why: 'not_reported_here' | 'over_quota') => {
        store.audit({ at: new Date(nowMs).toISOString(), actor, action: 'self_unlock_refused', ip_key: ipKey, detail: { site: siteId, why } });
        return why;
      };
      if (!store.siteReportedIpKeySince(siteId, ipKey, new Date(nowMs - 86_400_000).toISOString())) return refuse('not_reported_here');
      const recent = (selfUnlocks.get(siteId) ?? []).filter((t) => t > nowMs - 3_600_000);
      if (recent.length >= SELF_UNLOCKS_PER_SITE_PER_HOUR) return refuse('over_quota');
      selfUnlocks.set(siteId, [...recent, nowMs]);
      // A batch rolled back is retried: its unlock must not spend the quota twice.
      store.onRollback(() => {
        const times = selfUnlocks.get(siteId);
        const i = times?.lastIndexOf(nowMs) ?? -1;
        if (i >= 0) times!.splice(i, 1);
      });
      allowUntil(ip, `self-unlock from site ${siteId}`, actor, nowMs + config.unlock_ttl * 1000);
      return 'unlocked';
    },
    allowUntil,
    /** Removes the entries whose time is up; returns how many. */
    expireAllowlist(): number {
      const at = new Date(now()).toISOString();
      const removed = store.transaction(() => {
        const expired = store.expiredAllowlist(at);
        for (const entry of expired) {
          if (store.removeAllowlist(entry.cidr)) store.audit({ at, actor: 'system', action: 'allowlist_expire', ip_key: entry.cidr, detail: { expires_at: entry.expires_at } });
        }
        return expired.length;
      });
      if (removed) reloadAllowlist();
      return removed;
    },
    /** Removes a runtime entry, written canonically or as it was stored; false when there is none. */
    removeAllowlist(input: string, actor: string): boolean {
      const at = new Date(now()).toISOString();
      const network = parseCidr(input.trim());
      const spellings = [...new Set([...(network ? [keyOfNetwork(network)] : []), input])];
      const removed = store.transaction(() => {
        const gone = spellings.filter((cidr) => store.removeAllowlist(cidr));
        for (const cidr of gone) store.audit({ at, actor, action: 'allowlist_remove', ip_key: cidr });
        return gone.length > 0;
      });
      reloadAllowlist();
      return removed;
    },
    /** Picks up allowlist changes another process (the CLI) committed; true when it changed. */
    syncAllowlistFromStore(): boolean {
      const version = dataVersion(db);
      if (version === seenDataVersion) return false;
      seenDataVersion = version;
      return reloadAllowlist();
    },
    /** Lifts bans that reach an allowlisted or never-ban address (left by an older version or a config change). */
    liftBansOnProtectedAddresses: (actor = 'system') => liftBansReaching([allowlist, neverBan], actor),
    /**
     * The same over one page of active keys after `after` (in ip_key order), so a sweep of
     * 200,000 bans can run in slices between requests; `next` is null after the last page.
     */
    liftBansOnProtectedAddressesAfter: (after: string, limit: number, actor = 'system') => liftBansReachingAmong([allowlist, neverBan], actor, after, limit),
  };
}

export type Core = ReturnType<typeof createCore>;
