// The service's parts wired together over one database: used by the HTTP app and the
// CLI alike, so a ban from the command line follows exactly the path of a jail's ban.
import type { Config } from './config/schema.ts';
import type { Db } from './store/db.ts';
import { createStore } from './store/store.ts';
import { createBanService } from './bans/ban-service.ts';
import { createJailState, restoreJailState, type JailEvent, type PastBan } from './jail/engine.ts';
import { BAN_EVENT } from './jail/jail-config.ts';
import type { RefusalCause } from './bans/ban-admission.ts';
import { CidrSet } from './jail/ip.ts';
import { NEVER_BAN_RANGES } from './jail/never-ban.ts';
import type { EventType } from './contract/events.ts';

// Escalation looks back this far for earlier bans of the same IP.
const BAN_HISTORY_DAYS = 30;

export interface CoreOptions {
  now?: () => number;
  /** After every commit that changed what Cloudflare must enforce (the enforcer's wake). */
  onEnforcementChange?: () => void;
  /** Once per jail ban refused by overload.max_active_bans or the per-site quota. */
  onBanRefused?: (cause: RefusalCause) => void;
}

export function createCore(config: Config, db: Db, options: CoreOptions = {}) {
  const now = options.now ?? Date.now;
  const store = createStore(db);
  const jails = createJailState(config.jails, {
    maxTrackedKeys: config.overload.max_tracked_keys_per_jail,
    // Every active ban's key plus room for the recently ended ones that escalation remembers.
    maxBanKeys: config.overload.max_active_bans + Math.ceil(config.overload.max_active_bans / 4),
  });
  restoreJails();
  const bans = createBanService({
    store,
    jails,
    now,
    limits: { maxActiveBans: config.overload.max_active_bans, maxNewBansPerSitePerMinute: config.overload.max_new_bans_per_site_per_minute },
    onEnforcementChange: options.onEnforcementChange,
    onRefusal: options.onBanRefused,
  });
  const neverBan = new CidrSet(NEVER_BAN_RANGES);
  let allowlist = buildAllowlist();

  function buildAllowlist(): CidrSet {
    return new CidrSet([...config.allowlist, ...store.listAllowlist().map((entry) => entry.cidr)]);
  }

  /** Rebuilds the sliding windows and ban history from SQLite: a restart forgets nothing. */
  function restoreJails(): void {
    const nowMs = now();
    const maxFindtime = Math.max(0, ...Object.values(config.jails).map((jail) => jail.findtime));
    // Only jails that count events need events; recidive's day of findtime counts bans.
    const eventFindtime = Math.max(0, ...Object.values(config.jails).filter((jail) => !jail.event_types.includes(BAN_EVENT)).map((jail) => jail.findtime));
    const eventsFrom = new Date(nowMs - eventFindtime * 1000).toISOString();
    const bansFrom = new Date(nowMs - Math.max(maxFindtime * 1000, BAN_HISTORY_DAYS * 86_400_000)).toISOString();
    function* events(): Generator<JailEvent> {
      for (const row of store.countedEventsSince(eventsFrom)) {
        yield { id: row.id, siteId: row.site_id, type: row.type as EventType, ipKey: row.ip_key, username: row.username, weight: row.weight, occurredAtMs: Date.parse(row.occurred_at) };
      }
    }
    function* pastBans(): Generator<PastBan> {
      for (const row of store.bansSince(bansFrom)) {
        const expiresAtMs = Date.parse(row.expires_at);
        const liftedAtMs = row.lifted_at ? Date.parse(row.lifted_at) : null;
        // Lifted at or after its expiry is the expiry sweep, not an admin: live, such a
        // ban still counts towards recidive, so it must count after a restart too.
        yield { ipKey: row.ip_key, jail: row.jail, createdAtMs: Date.parse(row.created_at), expiresAtMs, liftedAtMs: liftedAtMs !== null && liftedAtMs < expiresAtMs ? liftedAtMs : null };
      }
    }
    restoreJailState(jails, { events: events(), bans: pastBans() }, nowMs);
  }

  return {
    config,
    db,
    store,
    jails,
    bans,
    now,
    ignoreLists: () => ({ allowlist, neverBan }),
    addAllowlist(cidr: string, note: string | null, actor: string): void {
      const at = new Date(now()).toISOString();
      store.transaction(() => {
        store.addAllowlist(cidr, note, at, actor);
        store.audit({ at, actor, action: 'allowlist_add', ip_key: cidr, detail: { note } });
      });
      allowlist = buildAllowlist();
    },
    removeAllowlist(cidr: string, actor: string): boolean {
      const at = new Date(now()).toISOString();
      const removed = store.transaction(() => {
        const gone = store.removeAllowlist(cidr);
        if (gone) store.audit({ at, actor, action: 'allowlist_remove', ip_key: cidr });
        return gone;
      });
      allowlist = buildAllowlist();
      return removed;
    },
  };
}

export type Core = ReturnType<typeof createCore>;
