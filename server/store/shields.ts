// The login shield's rows and the sites' zone settings. Statements prepared once per database.
import type { Db } from './db.ts';
import { enqueueEnforcementKey, shieldOutboxKey } from './enforcement.ts';
import { preparedOnFirstUse } from './prepared.ts';
import { SITES_MEMO, turnMemo } from './turn-memo.ts';

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

export type ShieldRulePart = 'login' | 'xmlrpc';
export type ShieldRuleState = 'applying' | 'active' | 'removing' | 'removed' | 'failed' | 'dry_run';

/** What the shield placement has put (or is putting) at Cloudflare for one site and part. */
export interface ShieldRuleRow {
  site_id: string;
  part: ShieldRulePart;
  zone_id: string;
  state: ShieldRuleState;
  rule_id: string | null;
  ruleset_id: string | null;
  create_uncertain: number;
  action: string | null;
  expression: string | null;
  attempts: number;
  last_error: string | null;
  applied_at: string | null;
  updated_at: string;
}

export function createShieldStore(db: Db) {
  const s = preparedOnFirstUse({
    insert: () => db.prepare(`INSERT INTO shields (site_id, state, raised_at, raised_by, reason, expires_at)
      VALUES (@site_id, 'up', @raised_at, @raised_by, @reason, @expires_at)`),
    extend: () => db.prepare("UPDATE shields SET expires_at = ?, reason = ?, extended_at = ? WHERE id = ? AND state = 'up'"),
    lower: () => db.prepare("UPDATE shields SET state = 'down', lowered_at = ?, lowered_by = ?, lowered_reason = ? WHERE id = ? AND state = 'up'"),
    up: () => db.prepare("SELECT * FROM shields WHERE state = 'up' ORDER BY raised_at"),
    upForSite: () => db.prepare("SELECT * FROM shields WHERE state = 'up' AND site_id = ?"),
    byId: () => db.prepare('SELECT * FROM shields WHERE id = ?'),
    recent: () => db.prepare('SELECT * FROM shields ORDER BY raised_at DESC, id DESC LIMIT ?'),
    forSite: () => db.prepare('SELECT * FROM shields WHERE site_id = ? ORDER BY raised_at DESC, id DESC LIMIT ?'),
    siteZones: () => db.prepare('SELECT id, name, site_url, zone_id, hostname FROM sites ORDER BY created_at'),
    siteZone: () => db.prepare('SELECT id, name, site_url, zone_id, hostname FROM sites WHERE id = ?'),
    siteByName: () => db.prepare('SELECT id, name, site_url, zone_id, hostname FROM sites WHERE name = ? ORDER BY created_at'),
    setZone: () => db.prepare('UPDATE sites SET zone_id = ? WHERE id = ?'),
    setHostname: () => db.prepare('UPDATE sites SET hostname = ? WHERE id = ?'),
    ruleOf: () => db.prepare('SELECT * FROM shield_rules WHERE site_id = ? AND part = ?'),
    liveRules: () => db.prepare("SELECT * FROM shield_rules WHERE state != 'removed' ORDER BY site_id, part"),
    saveRule: () => db.prepare(`INSERT INTO shield_rules (site_id, part, zone_id, state, rule_id, ruleset_id, create_uncertain, action, expression, attempts, last_error, applied_at, updated_at)
      VALUES (@site_id, @part, @zone_id, @state, @rule_id, @ruleset_id, @create_uncertain, @action, @expression, @attempts, @last_error, @applied_at, @updated_at)
      ON CONFLICT(site_id, part) DO UPDATE SET zone_id = excluded.zone_id, state = excluded.state, rule_id = excluded.rule_id,
        ruleset_id = excluded.ruleset_id, create_uncertain = excluded.create_uncertain, action = excluded.action, expression = excluded.expression,
        attempts = excluded.attempts, last_error = excluded.last_error, applied_at = excluded.applied_at, updated_at = excluded.updated_at`),
    since: () => db.prepare(`SELECT * FROM shields WHERE raised_at < @until AND (lowered_at IS NULL OR lowered_at >= @from) ORDER BY raised_at`),
  });
  // The edge must follow every raise and lowering: queued with the shield row, one transaction.
  const queueEdge = (siteId: string, at: string) => enqueueEnforcementKey(db, shieldOutboxKey(siteId), at);

  return {
    raise(row: { site_id: string; raised_at: string; raised_by: string; reason: string; expires_at: string }): ShieldRow {
      const id = db.transaction(() => {
        const inserted = Number(s.insert.run(row).lastInsertRowid);
        queueEdge(row.site_id, row.raised_at);
        return inserted;
      })();
      return s.byId.get(id) as ShieldRow;
    },
    extend: (id: number, expiresAt: string, reason: string, at: string) => s.extend.run(expiresAt, reason, at, id).changes > 0,
    lower: (id: number, at: string, by: string, reason: string) =>
      db.transaction(() => {
        const row = s.byId.get(id) as ShieldRow | undefined;
        const lowered = s.lower.run(at, by, reason, id).changes > 0;
        if (lowered && row) queueEdge(row.site_id, at);
        return lowered;
      })(),
    /** Shields up at any moment of [from, until): the dashboard chart's marks. */
    overlapping: (fromIso: string, untilIso: string) => s.since.all({ from: fromIso, until: untilIso }) as ShieldRow[],

    shieldRule: (siteId: string, part: ShieldRulePart) => s.ruleOf.get(siteId, part) as ShieldRuleRow | undefined,
    liveShieldRules: () => s.liveRules.all() as ShieldRuleRow[],
    saveShieldRule: (row: ShieldRuleRow) => void s.saveRule.run(row),
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
      turnMemo(db, SITES_MEMO).forget();
      if (change.zone_id !== undefined) changed = s.setZone.run(change.zone_id, siteId).changes > 0 || changed;
      if (change.hostname !== undefined) changed = s.setHostname.run(change.hostname, siteId).changes > 0 || changed;
      return changed || s.siteZone.get(siteId) !== undefined;
    },
  };
}

export type ShieldStore = ReturnType<typeof createShieldStore>;
