// The login shield's owner: feeds each site's failed logins to the detector, and records
// every raise, extension and lowering (automatic or by hand) as a shield row and an audit
// row in the caller's transaction. Cloudflare is not called from here: the shield's rule is
// a placement of the enforcement core, told through `onShieldChange` after each change.
import type { Db } from '../store/db.ts';
import type { Store } from '../store/store.ts';
import { createShieldStore, type ShieldRow, type SiteZoneRow } from '../store/shields.ts';
import type { ShieldConfig } from './config.ts';
import {
  createShieldDetector,
  expireShields,
  observeShieldFailure,
  pruneShieldDetector,
  setShieldStatus,
  shieldFigures,
  shieldStatusOf,
  type ShieldFigures,
  type ShieldTransition,
} from './detector.ts';
import { hostOfUrl } from './hostname.ts';
import type { EventType } from '../contract/events.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export interface ShieldFailureEvent {
  type: EventType | string;
  ipKey: string;
  username: string | null;
  weight: number;
  occurredAtMs: number;
}

/** What the plugin is told with every batch it sends. */
export interface ShieldAnswer {
  up: boolean;
  since?: string;
  until?: string;
  reason?: string;
}

export interface SiteShieldView {
  site_id: string;
  name: string;
  zone_id: string | null;
  hostname: string | null;
  enabled: boolean;
  up: boolean;
  since: string | null;
  until: string | null;
  reason: string | null;
  raised_by: string | null;
  /** The window now: what the detector is counting. */
  failures: number;
  ips: number;
  top_username: { username: string; ips: number } | null;
}

export class ShieldError extends Error {
  constructor(readonly code: 'unknown_site' | 'ambiguous_site' | 'not_up', message: string) {
    super(message);
  }
}

export interface ShieldServiceDeps {
  db: Db;
  store: Store;
  config: ShieldConfig;
  /** CLOUDFLARE_ZONE_ID: the zone of every site that names none. */
  defaultZoneId: string | null;
  now: () => number;
  /** After a commit that changed a site's shield (the enforcement core's placement listens). */
  onShieldChange?: (siteId: string) => void;
}

export function createShieldService({ db, store, config, defaultZoneId, now, onShieldChange }: ShieldServiceDeps) {
  const shields = createShieldStore(db);
  const detector = createShieldDetector(config);
  const counted = new Set<string>(config.event_types);
  /** The shield row behind each site's shield in the detector. */
  const rowBySite = new Map<string, number>();
  const enabledBySite = new Map<string, boolean>();

  function zoneOf(site: { zone_id?: string | null }): string | null {
    return site.zone_id ?? defaultZoneId ?? null;
  }

  /** `shield.enabled` unset: on wherever the site has a zone (its own or CLOUDFLARE_ZONE_ID). */
  function enabledFor(site: { zone_id?: string | null }): boolean {
    return config.enabled ?? zoneOf(site) !== null;
  }

  function syncFromStore(): void {
    const up = new Map(shields.upShields().map((row) => [row.site_id, row]));
    for (const [siteId, rowId] of rowBySite) {
      if (up.get(siteId)?.id === rowId) continue;
      rowBySite.delete(siteId);
      if (!up.has(siteId)) setShieldStatus(detector, siteId, null, { forgetWindow: true });
    }
    for (const row of up.values()) {
      if (rowBySite.get(row.site_id) === row.id && shieldStatusOf(detector, row.site_id, now())) {
        // Same shield; a longer end written by another process (the CLI's `shield up`) is taken.
        setShieldStatus(detector, row.site_id, { sinceMs: Date.parse(row.raised_at), untilMs: Date.parse(row.expires_at), reason: row.reason });
        continue;
      }
      rowBySite.set(row.site_id, row.id);
      setShieldStatus(detector, row.site_id, { sinceMs: Date.parse(row.raised_at), untilMs: Date.parse(row.expires_at), reason: row.reason });
    }
  }

  /** Rebuilds shields and windows from SQLite: a restart forgets no attack in progress. */
  function restore(): void {
    syncFromStore();
    const nowMs = now();
    let clock = 0;
    const sites = new Map(shields.siteZones().map((s) => [s.id, s]));
    for (const row of store.countedEventsSince(iso(nowMs - config.findtime * 1000))) {
      const site = sites.get(row.site_id);
      if (!site || !counted.has(row.type) || !enabledFor(site)) continue;
      // Windows move by arrival; rows come ordered by occurred_at, so keep the clock monotonic.
      clock = Math.max(clock, Date.parse(row.received_at));
      observeShieldFailure(detector, row.site_id, { ipKey: row.ip_key, username: row.username, weight: row.weight }, clock, true);
    }
  }
  restore();

  function record(transition: ShieldTransition, actor: string): void {
    const at = iso(transition.atMs);
    const figures = figuresDetail(transition.figures);
    if (transition.kind === 'raise') {
      const row = shields.raise({ site_id: transition.siteId, raised_at: at, raised_by: actor, reason: transition.reason, expires_at: iso(transition.untilMs) });
      rowBySite.set(transition.siteId, row.id);
      store.audit({ at, actor, action: 'shield_up', site_id: transition.siteId, detail: { shield_id: row.id, reason: transition.reason, until: iso(transition.untilMs), ...figures } });
    } else if (transition.kind === 'extend') {
      const rowId = rowBySite.get(transition.siteId);
      if (rowId === undefined) return;
      shields.extend(rowId, iso(transition.untilMs), transition.reason, at);
      store.audit({ at, actor, action: 'shield_extend', site_id: transition.siteId, detail: { shield_id: rowId, reason: transition.reason, until: iso(transition.untilMs), ...figures } });
    } else {
      const rowId = rowBySite.get(transition.siteId);
      rowBySite.delete(transition.siteId);
      if (rowId === undefined) return;
      shields.lower(rowId, at, 'expiry', transition.reason);
      store.audit({ at, actor, action: 'shield_down', site_id: transition.siteId, detail: { shield_id: rowId, reason: transition.reason, lowered_by: 'expiry', ...figures } });
    }
  }

  function answerFor(siteId: string, nowMs = now()): ShieldAnswer {
    const status = shieldStatusOf(detector, siteId, nowMs);
    if (!status) return { up: false };
    return { up: true, since: iso(status.sinceMs), until: iso(status.untilMs), reason: status.reason };
  }

  function findSite(ref: string): SiteZoneRow {
    const byId = shields.siteZone(ref);
    if (byId) return byId;
    const named = shields.sitesNamed(ref);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) throw new ShieldError('ambiguous_site', `${named.length} sites are named "${ref}"; use the site id`);
    throw new ShieldError('unknown_site', `no site with id or name "${ref}"`);
  }

  return {
    enabledFor,
    /** A site as shown: its zone and hostname in effect, defaults filled in. */
    withZone: <T extends { zone_id?: string | null; hostname?: string | null; site_url: string | null }>(site: T) => ({
      ...site,
      zone_id: zoneOf(site),
      hostname: site.hostname ?? hostOfUrl(site.site_url),
    }),
    zoneOf,
    answerFor,
    findSite,

    /**
     * One stored, counted event of a site (call inside the ingest transaction): failed logins
     * feed the detector; a raise or extension is written with the batch.
     */
    observe(site: { id: string; zone_id?: string | null }, event: ShieldFailureEvent, nowMs: number): void {
      if (!counted.has(event.type)) return;
      // Windows move by arrival, but a spool flushed after an outage is history, not an attack now.
      if (event.occurredAtMs <= nowMs - config.findtime * 1000) return;
      let enabled = enabledBySite.get(site.id);
      if (enabled === undefined) enabledBySite.set(site.id, (enabled = enabledFor(site)));
      if (!enabled) return;
      const transition = observeShieldFailure(detector, site.id, { ipKey: event.ipKey, username: event.username, weight: event.weight }, nowMs);
      if (!transition) return;
      record(transition, 'shield:detector');
      onShieldChange?.(site.id);
      // Its row gone with the batch, a shield up in memory only would stop a real raise until
      // it ran out. Down again, with the window kept: the batch sent again raises it at once.
      if (transition.kind === 'raise') {
        store.onRollback(() => {
          rowBySite.delete(site.id);
          setShieldStatus(detector, site.id, null);
          onShieldChange?.(site.id);
        });
      }
    },

    /** Raises a site's shield by hand, or extends the one up (never shortens it). */
    raise(siteRef: string, input: { durationSeconds: number; reason: string; actor: string }): { shield: ShieldRow; extended: boolean } {
      const site = findSite(siteRef);
      const nowMs = now();
      const untilMs = nowMs + input.durationSeconds * 1000;
      const at = iso(nowMs);
      const result = store.transaction(() => {
        const existing = shields.upForSite(site.id);
        if (existing) {
          const until = existing.expires_at > iso(untilMs) ? existing.expires_at : iso(untilMs);
          shields.extend(existing.id, until, input.reason, at);
          store.audit({ at, actor: input.actor, action: 'shield_extend', site_id: site.id, detail: { shield_id: existing.id, reason: input.reason, from: existing.expires_at, until } });
          return { id: existing.id, extended: true };
        }
        const row = shields.raise({ site_id: site.id, raised_at: at, raised_by: input.actor, reason: input.reason, expires_at: iso(untilMs) });
        store.audit({ at, actor: input.actor, action: 'shield_up', site_id: site.id, detail: { shield_id: row.id, reason: input.reason, until: iso(untilMs), duration_seconds: input.durationSeconds } });
        return { id: row.id, extended: false };
      });
      const row = shields.upForSite(site.id)!;
      rowBySite.set(site.id, row.id);
      setShieldStatus(detector, site.id, { sinceMs: Date.parse(row.raised_at), untilMs: Date.parse(row.expires_at), reason: row.reason });
      onShieldChange?.(site.id);
      return { shield: row, extended: result.extended };
    },

    /** Lowers a site's shield by hand; its window is forgotten, so only a fresh attack raises it again. */
    lower(siteRef: string, actor: string): ShieldRow {
      const site = findSite(siteRef);
      const at = iso(now());
      const lowered = store.transaction(() => {
        const existing = shields.upForSite(site.id);
        if (!existing) return null;
        shields.lower(existing.id, at, actor, 'lowered by hand');
        store.audit({ at, actor, action: 'shield_down', site_id: site.id, detail: { shield_id: existing.id, reason: 'lowered by hand', lowered_by: actor } });
        return existing.id;
      });
      if (lowered === null) throw new ShieldError('not_up', `the login shield of ${site.name} (${site.id}) is not up`);
      rowBySite.delete(site.id);
      setShieldStatus(detector, site.id, null, { forgetWindow: true });
      onShieldChange?.(site.id);
      return shields.forSite(site.id, 1)[0]!;
    },

    /** Lowers shields the attack has left alone for bantime (and manual ones past their time). */
    expire(nowMs = now()): number {
      const transitions = expireShields(detector, nowMs);
      if (!transitions.length) return 0;
      store.transaction(() => {
        for (const t of transitions) record(t, 'system');
      });
      for (const t of transitions) onShieldChange?.(t.siteId);
      return transitions.length;
    },

    /** Background tick: picks up the CLI's changes, then lets idle windows go. */
    tick(nowMs = now()): number {
      syncFromStore();
      const lowered = this.expire(nowMs);
      pruneShieldDetector(detector, nowMs);
      enabledBySite.clear();
      return lowered;
    },

    /** Every site with its zone, hostname and shield, for `shield status` and GET /v1/shields. */
    status(nowMs = now()): SiteShieldView[] {
      const up = new Map(shields.upShields().map((row) => [row.site_id, row]));
      return shields.siteZones().map((site) => {
        const row = up.get(site.id);
        const live = shieldStatusOf(detector, site.id, nowMs);
        const figures = shieldFigures(detector, site.id, nowMs);
        const isUp = Boolean(row && live);
        return {
          site_id: site.id,
          name: site.name,
          zone_id: zoneOf(site),
          hostname: site.hostname ?? hostOfUrl(site.site_url),
          enabled: enabledFor(site),
          up: isUp,
          since: isUp ? row!.raised_at : null,
          until: isUp ? iso(live!.untilMs) : null,
          reason: isUp ? live!.reason : null,
          raised_by: isUp ? row!.raised_by : null,
          failures: figures.failures,
          ips: figures.ips,
          top_username: figures.topUsername ? { username: figures.topUsername.username, ips: figures.topUsername.ips } : null,
        };
      });
    },

    history: (siteId: string, limit = 50) => shields.forSite(siteId, limit),
    setSiteZone: (siteId: string, change: { zone_id?: string | null; hostname?: string | null }) => {
      const ok = shields.setSiteZone(siteId, change);
      enabledBySite.delete(siteId);
      return ok;
    },

    /** For the metrics: 1/0 per site with the shield on, and failures per minute in each window. */
    gauges(nowMs = now()): Array<{ siteId: string; active: number; failuresPerMinute: number }> {
      const out: Array<{ siteId: string; active: number; failuresPerMinute: number }> = [];
      for (const site of shields.siteZones()) {
        const figures = shieldFigures(detector, site.id, nowMs);
        out.push({ siteId: site.id, active: shieldStatusOf(detector, site.id, nowMs) ? 1 : 0, failuresPerMinute: figures.failures / (config.findtime / 60) });
      }
      return out;
    },
  };
}

function figuresDetail(figures: ShieldFigures) {
  return { failures: figures.failures, ips: figures.ips, top_username: figures.topUsername?.username ?? null, top_username_ips: figures.topUsername?.ips ?? null };
}

export type ShieldService = ReturnType<typeof createShieldService>;
