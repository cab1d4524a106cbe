// The login shield's rows and the sites' zone settings. Statements prepared once per database.
import type { Db } from './db.ts';

export interface ShieldRow {
  id: number;
  site_id: string;
  state: 'up' | 'down';
  raised_at: string;
  raised_by: string;
  reason: string;
  expires_at: string;
  extended_at: string | null;
  lowered_at: string | null;
  lowered_by: string | null;
  lowered_reason: string | null;
}

export interface SiteZoneRow {
  id: string;
  name: string;
  site_url: string | null;
  zone_id: string | null;
  hostname: string | null;
}

export function createShieldStore(db: Db) {
  const s = {
    insert: db.prepare(`INSERT INTO shields (site_id, state, raised_at, raised_by, reason, expires_at)
      VALUES (@site_id, 'up', @raised_at, @raised_by, @reason, @expires_at)`),
    extend: db.prepare("UPDATE shields SET expires_at = ?, reason = ?, extended_at = ? WHERE id = ? AND state = 'up'"),
    lower: db.prepare("UPDATE shields SET state = 'down', lowered_at = ?, lowered_by = ?, lowered_reason = ? WHERE id = ? AND state = 'up'"),
    up: db.prepare("SELECT * FROM shields WHERE state = 'up' ORDER BY raised_at"),
    upForSite: db.prepare("SELECT * FROM shields WHERE state = 'up' AND site_id = ?"),
    byId: db.prepare('SELECT * FROM shields WHERE id = ?'),
    recent: db.prepare('SELECT * FROM shields ORDER BY raised_at DESC, id DESC LIMIT ?'),
    forSite: db.prepare('SELECT * FROM shields WHERE site_id = ? ORDER BY raised_at DESC, id DESC LIMIT ?'),
    siteZones: db.prepare('SELECT id, name, site_url, zone_id, hostname FROM sites ORDER BY created_at'),
    siteZone: db.prepare('SELECT id, name, site_url, zone_id, hostname FROM sites WHERE id = ?'),
    siteByName: db.prepare('SELECT id, name, site_url, zone_id, hostname FROM sites WHERE name = ? ORDER BY created_at'),
    setZone: db.prepare('UPDATE sites SET zone_id = ? WHERE id = ?'),
    setHostname: db.prepare('UPDATE sites SET hostname = ? WHERE id = ?'),
  };

  return {
    raise(row: { site_id: string; raised_at: string; raised_by: string; reason: string; expires_at: string }): ShieldRow {
      const id = Number(s.insert.run(row).lastInsertRowid);
      return s.byId.get(id) as ShieldRow;
    },
    extend: (id: number, expiresAt: string, reason: string, at: string) => s.extend.run(expiresAt, reason, at, id).changes > 0,
    lower: (id: number, at: string, by: string, reason: string) => s.lower.run(at, by, reason, id).changes > 0,
    upShields: () => s.up.all() as ShieldRow[],
    upForSite: (siteId: string) => s.upForSite.get(siteId) as ShieldRow | undefined,
    recent: (limit = 200) => s.recent.all(limit) as ShieldRow[],
    forSite: (siteId: string, limit = 200) => s.forSite.all(siteId, limit) as ShieldRow[],

    siteZones: () => s.siteZones.all() as SiteZoneRow[],
    siteZone: (siteId: string) => s.siteZone.get(siteId) as SiteZoneRow | undefined,
    sitesNamed: (name: string) => s.siteByName.all(name) as SiteZoneRow[],
    /** `undefined` leaves a field as it is; `null` returns it to its default. */
    setSiteZone(siteId: string, change: { zone_id?: string | null; hostname?: string | null }): boolean {
      let changed = false;
      if (change.zone_id !== undefined) changed = s.setZone.run(change.zone_id, siteId).changes > 0 || changed;
      if (change.hostname !== undefined) changed = s.setHostname.run(change.hostname, siteId).changes > 0 || changed;
      return changed || s.siteZone.get(siteId) !== undefined;
    },
  };
}

export type ShieldStore = ReturnType<typeof createShieldStore>;
