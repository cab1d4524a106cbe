// The login shield as a placement of the enforcement core. Its outbox key is one site
// (`shield:<site id>`); what the edge must hold comes from the shields table (a shield up →
// the site's rules from `shield.action` / `shield.xmlrpc`), what is there from
// `shield_rules`. The worker calls `sync` for a queued site and retries its failures
// through the outbox like any ban; the reconciler calls `reconcile` with the rest.
// Only rules whose description carries our tag are ever edited or deleted.
import type { CloudflareApi } from '../../cloudflare/api.ts';
import type { ShieldReconcileReport } from '../types.ts';
import { createShieldRulesApi, shieldExpression, type ShieldPart, type ShieldRule, type ShieldRuleSpec } from '../../cloudflare/shield-rules.ts';
import type { Db } from '../../store/db.ts';
import { createShieldStore, type ShieldRuleRow, type ShieldRuleState } from '../../store/shields.ts';
import { shieldOutboxKey, type EnforcementStore } from '../../store/enforcement.ts';
import { shieldRuleSpecs } from '../../shield/rule-specs.ts';
import { hostOfUrl } from '../../shield/hostname.ts';
import type { ShieldConfig } from '../../shield/config.ts';
import type { KeyLocks } from '../key-locks.ts';
import { iso, type KeyOutcome, type Logger } from '../types.ts';

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

export function createShieldPlacement({ db, store, api, config, defaultZoneId, now, logger }: ShieldPlacementOptions) {
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

  /**
   * Compares every zone in use with the shields table: re-queues sites whose rule is missing or
   * out of date, repairs stored ids, removes tagged rules no shield wants (of sites long gone too).
   */
  async function reconcile(locks: KeyLocks): Promise<ShieldReconcileReport> {
    const report: ShieldReconcileReport = { zones: 0, seen: 0, orphansRemoved: 0, missingReapplied: 0, idsRepaired: 0, outdatedQueued: 0, skippedBusy: 0, errors: [] };
    if (!rules) return report;
    const at = () => iso(now());
    const audit = (siteId: string, detail: Record<string, unknown>) =>
      store.auditSystem(at(), 'reconcile_repair', shieldOutboxKey(siteId), null, { backend: 'login_shield', ...detail });
    const zones = new Set<string>();
    for (const site of shields.siteZones()) {
      const zone = site.zone_id ?? defaultZoneId;
      if (zone) zones.add(zone);
    }
    for (const row of shields.liveShieldRules()) zones.add(row.zone_id);
    report.zones = zones.size;

    for (const zone of zones) {
      let found: Awaited<ReturnType<NonNullable<typeof rules>['listOurs']>>;
      try {
        found = await rules.listOurs(zone);
      } catch (error) {
        report.errors.push(`zone ${zone}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      report.seen += found.length;
      const sites = new Set([...found.map((r) => r.siteId), ...shields.siteZones().filter((s) => (s.zone_id ?? defaultZoneId) === zone).map((s) => s.id)]);
      for (const siteId of sites) {
        const key = shieldOutboxKey(siteId);
        // The worker's turn (queued, or a call under way): it will make this site right itself.
        const release = store.outboxRow(key) ? null : locks.tryLock(key);
        if (!release) {
          report.skippedBusy++;
          continue;
        }
        try {
          await reconcileSite(zone, siteId, found.filter((r) => r.siteId === siteId), report, audit);
        } catch (error) {
          report.errors.push(`site ${siteId}: ${error instanceof Error ? error.message : String(error)}`);
        } finally {
          release();
        }
      }
    }
    if (report.missingReapplied + report.outdatedQueued) logger.info({ ...report }, 'login shield reconcile queued sites');
    return report;
  }

  async function reconcileSite(
    zone: string,
    siteId: string,
    found: Array<ShieldRule & { part: ShieldPart }>,
    report: ShieldReconcileReport,
    audit: (siteId: string, detail: Record<string, unknown>) => void,
  ): Promise<void> {
    const wanted = wantedFor(siteId).filter((s) => s.zoneId === zone);
    let queue = false;
    for (const part of PARTS) {
      const spec = wanted.find((s) => s.part === part);
      const here = found.filter((r) => r.part === part);
      const row = shields.shieldRule(siteId, part);
      if (!spec) {
        for (const rule of here) {
          await rules!.delete(zone, rule, { ipKey: shieldOutboxKey(siteId) });
          report.orphansRemoved++;
          audit(siteId, { repair: 'orphan_removed', part, zone_id: zone, rule_id: rule.id, description: rule.description });
        }
        if (row && row.zone_id === zone && row.state !== 'removed' && row.state !== 'dry_run' && here.length) {
          save(siteId, part, { zone_id: zone, state: 'removed', rule_id: null, ruleset_id: null, create_uncertain: 0 });
        }
        continue;
      }
      const [keep, ...extra] = here;
      for (const rule of extra) {
        await rules!.delete(zone, rule, { ipKey: shieldOutboxKey(siteId) });
        report.orphansRemoved++;
        audit(siteId, { repair: 'orphan_removed', part, zone_id: zone, rule_id: rule.id, reason: 'second copy' });
      }
      if (!keep) {
        report.missingReapplied++;
        audit(siteId, { repair: 'missing_reapplied', part, zone_id: zone, stored_id: row?.rule_id ?? null, stored_state: row?.state ?? null });
        save(siteId, part, { zone_id: zone, state: 'removed', rule_id: null, ruleset_id: null, create_uncertain: 0 });
        queue = true;
        continue;
      }
      if (row?.rule_id !== keep.id || row?.state !== 'active') {
        report.idsRepaired++;
        audit(siteId, { repair: 'id_repaired', part, zone_id: zone, rule_id: keep.id, stored_id: row?.rule_id ?? null, stored_state: row?.state ?? null });
        save(siteId, part, {
          zone_id: zone, state: 'active', rule_id: keep.id, ruleset_id: keep.rulesetId, create_uncertain: 0, action: keep.action,
          expression: keep.expression, attempts: 0, last_error: null, applied_at: row?.applied_at ?? iso(now()),
        });
      }
      if (keep.action !== spec.action || keep.expression !== shieldExpression(spec.hostname, spec.part) || !keep.enabled) {
        // Edited by hand (or the config changed): the worker writes it back as the shield wants it.
        report.outdatedQueued++;
        save(siteId, part, { zone_id: zone, state: 'active', action: keep.enabled ? keep.action : 'disabled', expression: keep.expression });
        queue = true;
      }
    }
    if (queue) store.transaction(() => store.enqueue(shieldOutboxKey(siteId), iso(now())));
  }

  return {
    sync,
    reconcile,
    /** Rule rows by state, for the status. */
    states(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const row of shields.liveShieldRules()) out[row.state] = (out[row.state] ?? 0) + 1;
      return out;
    },
  };
}

export type ShieldPlacement = ReturnType<typeof createShieldPlacement>;
