// The service's parts wired together over one database: used by the HTTP app and the
// CLI alike, so a ban from the command line follows exactly the path of a jail's ban.
import type { Config } from './config/schema.ts';
import type { Db } from './store/db.ts';
import { createStore } from './store/store.ts';
import { createBanService } from './bans/ban-service.ts';
import { createJailState, restoreJailState, type JailEvent, type PastBan } from './jail/engine.ts';
import { CidrSet } from './jail/ip.ts';
import { NEVER_BAN_RANGES } from './jail/never-ban.ts';
import type { EventType } from './contract/events.ts';
import { createShieldService } from './shield/shield-service.ts';

// Escalation looks back this far for earlier bans of the same IP.
const BAN_HISTORY_DAYS = 30;

export function createCore(config: Config, db: Db, options: { now?: () => number; onEnforcementChange?: () => void; onShieldChange?: (siteId: string) => void } = {}) {
  const now = options.now ?? Date.now;
  const store = createStore(db);
  const jails = createJailState(config.jails, { maxTrackedKeys: config.overload.max_tracked_keys_per_jail });
  restoreJails();
  const bans = createBanService({ store, jails, now, onEnforcementChange: () => options.onEnforcementChange?.() });
  const neverBan = new CidrSet(NEVER_BAN_RANGES);
  let allowlist = buildAllowlist();
  const shield = createShieldService({ db, store, config: config.shield, defaultZoneId: config.cloudflare.zone_id ?? null, now, onShieldChange: (siteId) => options.onShieldChange?.(siteId) });

  function buildAllowlist(): CidrSet {
    return new CidrSet([...config.allowlist, ...store.listAllowlist().map((entry) => entry.cidr)]);
  }

  /** Rebuilds the sliding windows and ban history from SQLite: a restart forgets nothing. */
  function restoreJails(): void {
    const nowMs = now();
    const maxFindtime = Math.max(0, ...Object.values(config.jails).map((jail) => jail.findtime));
    const eventsFrom = new Date(nowMs - maxFindtime * 1000).toISOString();
    const bansFrom = new Date(nowMs - Math.max(maxFindtime * 1000, BAN_HISTORY_DAYS * 86_400_000)).toISOString();
    function* events(): Generator<JailEvent> {
      for (const row of store.countedEventsSince(eventsFrom)) {
        yield { id: row.id, siteId: row.site_id, type: row.type as EventType, ipKey: row.ip_key, username: row.username, weight: row.weight, occurredAtMs: Date.parse(row.occurred_at) };
      }
    }
    function* pastBans(): Generator<PastBan> {
      for (const row of store.bansSince(bansFrom)) {
        yield { ipKey: row.ip_key, jail: row.jail, createdAtMs: Date.parse(row.created_at), expiresAtMs: Date.parse(row.expires_at), liftedAtMs: row.lifted_at ? Date.parse(row.lifted_at) : null };
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
    shield,
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
