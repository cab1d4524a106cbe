// The login shield as a placement of the enforcement core. Its outbox key is one site
// (`shield:<site id>`); what the edge must hold comes from the shields table (a shield up →
// the site's rules from `shield.action` / `shield.xmlrpc`), what is there from
// `shield_rules`. The worker calls `sync` for a queued site and retries its failures
// through the outbox like any ban; the one reconciler reads its rules zone by zone and has
// it judge each site, like every other placement.
// Only rules whose description carries our tag are ever edited or deleted.
import type { CloudflareApi } from '../../cloudflare/api.ts';
import { createShieldRulesApi, shieldExpression, type ShieldPart, type ShieldRule, type ShieldRuleSpec } from '../../cloudflare/shield-rules.ts';
import type { Db } from '../../store/db.ts';
import { createShieldStore, type ShieldRuleRow, type ShieldRuleState } from '../../store/shields.ts';
import { shieldOutboxKey, siteOfShieldKey, type EnforcementStore } from '../../store/enforcement.ts';
import { shieldRuleSpecs } from '../../shield/rule-specs.ts';
import { hostOfUrl } from '../../shield/hostname.ts';
import type { ShieldConfig } from '../../shield/config.ts';
import { iso, type Found, type KeyOutcome, type Logger, type PlacedObject, type Placement, type ReconcileRun } from '../types.ts';

const PARTS: ShieldPart[] = ['login', 'xmlrpc'];

export interface ShieldPlacementOptions {
  db: Db;
  store: EnforcementStore;
  /** null in dry-run: decisions are recorded, no call is made. */
  api: CloudflareApi | null;
  config: Pick<ShieldConfig, 'action' | 'xmlrpc'>;
  defaultZoneId: string | null;
  now: () => number;
  logger: Logger;
}

export function createShieldPlacement({ db, store, api, config, defaultZoneId, now }: ShieldPlacementOptions) {
  const shields = createShieldStore(db);
  const rules = api ? createShieldRulesApi(api) : null;

  function siteView(siteId: string) {
    const site = shields.siteZone(siteId);
    if (!site) return null;
    return { id: site.id, zoneId: site.zone_id ?? defaultZoneId, hostname: site.hostname ?? hostOfUrl(site.site_url) };
  }

  /** The rules a site's shield needs at the edge right now: none unless a shield is up. */
  function wantedFor(siteId: string): ShieldRuleSpec[] {
    if (!shields.upForSite(siteId)) return [];
    const site = siteView(siteId);
    return site ? shieldRuleSpecs(site, config) : [];
  }

  function save(siteId: string, part: ShieldPart, patch: Partial<ShieldRuleRow> & { zone_id: string; state: ShieldRuleState }): ShieldRuleRow {
    const previous = shields.shieldRule(siteId, part);
    const row: ShieldRuleRow = {
      site_id: siteId, part, rule_id: null, ruleset_id: null, create_uncertain: 0, action: null, expression: null, attempts: 0,
      last_error: null, applied_at: null, ...previous, ...patch, updated_at: iso(now()),
    };
    shields.saveShieldRule(row);
    return row;
  }

  const dryRunAction = (siteId: string, operation: string, target: string) =>
    store.recordAction({ at: iso(now()), ip_key: shieldOutboxKey(siteId), ban_id: null, operation, target, outcome: 'dry_run' });

  const matches = (row: ShieldRuleRow | undefined, spec: ShieldRuleSpec) =>
    row !== undefined && row.zone_id === spec.zoneId && row.action === spec.action && row.expression === shieldExpression(spec.hostname, spec.part);

  async function removeOne(row: ShieldRuleRow): Promise<void> {
    const context = { ipKey: shieldOutboxKey(row.site_id) };
    if (!rules) {
      dryRunAction(row.site_id, 'shield_delete_rule', `${row.part} rule in zone ${row.zone_id}`);
      save(row.site_id, row.part, { zone_id: row.zone_id, state: 'removed', rule_id: null, ruleset_id: null, create_uncertain: 0 });
      return;
    }
    save(row.site_id, row.part, { zone_id: row.zone_id, state: 'removing' });
    if (row.rule_id && row.ruleset_id) await rules.delete(row.zone_id, { id: row.rule_id, rulesetId: row.ruleset_id }, context);
    if (!row.rule_id || row.create_uncertain) {
      // A create whose answer was lost may have left a rule we never saw the id of: find it by its tag.
      for (const rule of await rules.findOurs(row.zone_id, row.site_id, row.part, context)) await rules.delete(row.zone_id, rule, context);
    }
    save(row.site_id, row.part, { zone_id: row.zone_id, state: 'removed', rule_id: null, ruleset_id: null, create_uncertain: 0, attempts: 0, last_error: null });
  }

  async function placeOne(spec: ShieldRuleSpec, row: ShieldRuleRow | undefined): Promise<void> {
    const expression = shieldExpression(spec.hostname, spec.part);
    if (row && row.state !== 'removed' && row.zone_id !== spec.zoneId) await removeOne(row); // the site moved zones
    if (!rules) {
      dryRunAction(spec.siteId, 'shield_add_rule', `${spec.part} rule (${spec.action}) in zone ${spec.zoneId}`);
      save(spec.siteId, spec.part, { zone_id: spec.zoneId, state: 'dry_run', action: spec.action, expression, applied_at: iso(now()), attempts: 0, last_error: null });
      return;
    }
    save(spec.siteId, spec.part, { zone_id: spec.zoneId, state: 'applying', create_uncertain: 1, action: spec.action, expression });
    // add() reads the entrypoint first and edits a tagged rule it finds: a retry never duplicates.
    const rule = await rules.add(spec, { ipKey: shieldOutboxKey(spec.siteId) });
    save(spec.siteId, spec.part, {
      zone_id: spec.zoneId, state: 'active', rule_id: rule.id, ruleset_id: rule.rulesetId, create_uncertain: 0, action: rule.action,
      expression: rule.expression, attempts: 0, last_error: null, applied_at: iso(now()),
    });
  }

  /** Makes the edge match one site's shield. The outcome goes back to the worker's outbox. */
  async function sync(key: string, siteId: string): Promise<KeyOutcome> {
    const wanted = wantedFor(siteId);
    try {
      // Lowering first: a shield that is down must stop challenging visitors before anything else.
      for (const part of PARTS) {
        const row = shields.shieldRule(siteId, part);
        if (!wanted.some((s) => s.part === part) && row && row.state !== 'removed') await removeOne(row);
      }
      for (const spec of wanted) {
        const row = shields.shieldRule(siteId, spec.part);
        const placed = row?.state === 'active' || (row?.state === 'dry_run' && !rules);
        if (placed && matches(row, spec)) continue;
        await placeOne(spec, row);
      }
      return { ipKey: key };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      for (const part of PARTS) {
        const row = shields.shieldRule(siteId, part);
        if (row && row.state !== 'active' && row.state !== 'removed' && row.state !== 'dry_run') {
          save(siteId, part, { zone_id: row.zone_id, state: 'failed', attempts: row.attempts + 1, last_error: text.slice(0, 500) });
        }
      }
      return { ipKey: key, error };
    }
  }

  // The last full read: where each rule of ours was, by its id, and the zones that would not answer.
  let lastRead = new Map<string, { zone: string; rule: ShieldRule & { part: ShieldPart } }>();
  let unreadZones = new Map<string, string>();
  let zonesRead = 0;
  const reportedZones = new Set<string>(); // one error per zone per run, not one per site in it

  function zonesInUse(): Set<string> {
    const zones = new Set<string>();
    for (const site of shields.siteZones()) {
      const zone = site.zone_id ?? defaultZoneId;
      if (zone) zones.add(zone);
    }
    for (const row of shields.liveShieldRules()) zones.add(row.zone_id);
    return zones;
  }

  /** Every rule of ours in every zone in use (a zone that fails is left out, and its sites with it). */
  async function readPlaced(): Promise<PlacedObject[]> {
    lastRead = new Map();
    unreadZones = new Map();
    reportedZones.clear();
    if (!rules) return [];
    const zones = zonesInUse();
    zonesRead = zones.size;
    const objects: PlacedObject[] = [];
    for (const zone of zones) {
      try {
        for (const rule of await rules.listOurs(zone)) {
          lastRead.set(rule.id, { zone, rule });
          objects.push({ key: shieldOutboxKey(rule.siteId), id: rule.id, tag: rule.description, mode: rule.action });
        }
      } catch (error) {
        unreadZones.set(zone, error instanceof Error ? error.message : String(error));
      }
    }
    return objects;
  }

  /**
   * One site against the shields table, zone by zone: queues it when a rule is missing or out
   * of date, repairs stored ids, and names the tagged rules no shield wants (of sites long gone
   * too) as orphans.
   */
  async function judge(key: string, found: Found[], run: ReconcileRun): Promise<void> {
    const siteId = siteOfShieldKey(key)!;
    const mine = found.flatMap((f) => {
      const read = lastRead.get(f.object.id);
      return read ? [{ found: f, ...read }] : [];
    });
    const zones = new Set(mine.map((m) => m.zone));
    const site = siteView(siteId);
    if (site?.zoneId) zones.add(site.zoneId);
    for (const part of PARTS) {
      const row = shields.shieldRule(siteId, part);
      if (row && row.state !== 'removed') zones.add(row.zone_id);
    }
    let queue = false;
    for (const zone of zones) {
      const unread = unreadZones.get(zone);
      if (unread !== undefined) {
        if (!reportedZones.has(zone)) run.sink.error(`zone ${zone}: ${unread}`);
        reportedZones.add(zone);
        continue;
      }
      if (!rules) continue;
      queue = judgeZone(zone, siteId, mine.filter((m) => m.zone === zone), run) || queue;
    }
    if (queue) store.transaction(() => store.enqueue(key, iso(now())));
  }

  function judgeZone(
    zone: string,
    siteId: string,
    found: Array<{ found: Found; rule: ShieldRule & { part: ShieldPart } }>,
    { sink }: ReconcileRun,
  ): boolean {
    const key = shieldOutboxKey(siteId);
    const wanted = wantedFor(siteId).filter((s) => s.zoneId === zone);
    let queue = false;
    for (const part of PARTS) {
      const spec = wanted.find((s) => s.part === part);
      const here = found.filter((r) => r.rule.part === part);
      const row = shields.shieldRule(siteId, part);
      if (!spec) {
        for (const { found: f } of here) sink.orphan(f);
        continue;
      }
      const [keep, ...extra] = here;
      for (const { found: f } of extra) sink.orphan(f); // a second copy
      if (!keep) {
        sink.repaired('missing_reapplied', key, null, placement, { part, zone_id: zone, stored_id: row?.rule_id ?? null, stored_state: row?.state ?? null });
        save(siteId, part, { zone_id: zone, state: 'removed', rule_id: null, ruleset_id: null, create_uncertain: 0 });
        queue = true;
        continue;
      }
      const { rule } = keep;
      if (row?.rule_id !== rule.id || row?.state !== 'active') {
        sink.repaired('id_repaired', key, null, placement, { part, zone_id: zone, rule_id: rule.id, stored_id: row?.rule_id ?? null, stored_state: row?.state ?? null });
        save(siteId, part, {
          zone_id: zone, state: 'active', rule_id: rule.id, ruleset_id: rule.rulesetId, create_uncertain: 0, action: rule.action,
          expression: rule.expression, attempts: 0, last_error: null, applied_at: row?.applied_at ?? iso(now()),
        });
      }
      if (rule.action !== spec.action || rule.expression !== shieldExpression(spec.hostname, spec.part) || !rule.enabled) {
        // Edited by hand (or the config changed): the worker writes it back as the shield wants it.
        sink.repaired('outdated_queued', key, null, placement, { part, zone_id: zone, rule_id: rule.id, action: rule.enabled ? rule.action : 'disabled' });
        save(siteId, part, { zone_id: zone, state: 'active', action: rule.enabled ? rule.action : 'disabled', expression: rule.expression });
        queue = true;
      }
    }
    return queue;
  }

  const placement: Placement = {
    name: 'login_shield',
    backend: 'login_shield',
    scopeLabel: 'zones',
    handles: (key) => siteOfShieldKey(key) !== null,
    readPlaced,
    async removePlaced(objects) {
      const removed: PlacedObject[] = [];
      for (const object of objects) {
        const read = lastRead.get(object.id);
        if (!read || !rules) continue;
        await rules.delete(read.zone, read.rule, { ipKey: object.key });
        removed.push(object);
      }
      return removed;
    },
    reconcileKeys() {
      if (!rules) return [];
      const sites = new Set(shields.siteZones().filter((s) => s.zone_id ?? defaultZoneId).map((s) => s.id));
      for (const row of shields.liveShieldRules()) sites.add(row.site_id);
      return [...sites].map(shieldOutboxKey);
    },
    judge,
    orphanRemoved(object) {
      const read = lastRead.get(object.id);
      if (!read) return;
      const siteId = siteOfShieldKey(object.key)!;
      const { part } = read.rule;
      const row = shields.shieldRule(siteId, part);
      const stillWanted = wantedFor(siteId).some((s) => s.part === part && s.zoneId === read.zone);
      // A second copy's removal leaves the row of the copy kept alone.
      if (row && row.zone_id === read.zone && row.state !== 'removed' && row.state !== 'dry_run' && !stillWanted) {
        save(siteId, part, { zone_id: read.zone, state: 'removed', rule_id: null, ruleset_id: null, create_uncertain: 0 });
      }
    },
    describe(object) {
      const read = lastRead.get(object.id);
      return { part: read?.rule.part ?? null, zone_id: read?.zone ?? null, rule_id: object.id, description: object.tag };
    },
  };

  return {
    ...placement,
    sync,
    /** Zones the last reconcile read. */
    zoneCount: () => zonesRead,
    /** Rule rows by state, for the status. */
    states(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const row of shields.liveShieldRules()) out[row.state] = (out[row.state] ?? 0) + 1;
      return out;
    },
  };
}

export type ShieldPlacement = ReturnType<typeof createShieldPlacement>;
