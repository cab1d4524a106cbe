// IP Access Rules enforcement: one rule per ip_key, driven by the bans table.
// Ordering is what keeps unbans from being lost:
//   - the row says 'applying' (create_uncertain=1) before the create call leaves, so a
//     crash or a lost response is followed by a lookup, never by a blind second create;
//   - the rule id is written in the same statement that says 'active';
//   - an unban deletes by stored id, and without an id it finds the rule by tag first.
import type { CloudflareApi } from './api.ts';
import { CloudflareCallError } from './api.ts';
import { createAccessRulesApi, scopeFromLabel, scopeLabel, type AccessRule, type AccessRuleMode, type ScopeParams } from './access-rules-api.ts';
import { formatTag, ipKeyFromTag } from './tag.ts';
import { cloudflareTargetFor, UnsupportedIpKeyError, type CloudflareTarget } from './target.ts';
import {
  emptyReport,
  iso,
  writeEnforcement,
  type BackendDeps,
  type EnforcementBackend,
  type KeyOutcome,
  type ReconcileContext,
  type ReconcileReport,
} from './state.ts';
import type { DesiredBlock, EnforcementRow } from '../store/enforcement.ts';

/** Cloudflare's answer to a second rule for the same value in the same scope. */
export const DUPLICATE_RULE_CODE = 10009;

const BACKEND = 'access_rules';

export function createAccessRulesBackend(deps: BackendDeps & { api: CloudflareApi }): EnforcementBackend {
  const { api, store, config, now, logger } = deps;
  const rules = createAccessRulesApi(api, config.page_size);
  const scope: ScopeParams = config.scope === 'account' ? { account_id: config.account_id! } : { zone_id: config.zone_id! };
  const label = scopeLabel(scope);
  const mode = config.mode as AccessRuleMode;
  const nowIso = () => iso(now());
  const save = (ipKey: string, patch: Parameters<typeof writeEnforcement>[4]) => writeEnforcement(store, ipKey, BACKEND, nowIso(), patch);
  const describe = (target: CloudflareTarget) => `${target.target} ${target.value} in ${label}`;

  function markActive(ipKey: string, rule: AccessRule, target: CloudflareTarget, notes: string, until: string): void {
    save(ipKey, {
      scope: label,
      state: 'active',
      cloudflare_id: rule.id,
      create_uncertain: 0,
      target: target.target,
      value: target.value,
      mode: rule.mode || mode,
      notes,
      applied_until: until,
      foreign_rule_id: null,
      attempts: 0,
      last_error: null,
      applied_at: nowIso(),
    });
  }

  /** Takes over a rule of ours found at Cloudflare, bringing its notes and mode up to date. */
  async function adopt(ipKey: string, found: AccessRule[], target: CloudflareTarget, desired: DesiredBlock, notes: string): Promise<void> {
    const [keep, ...extra] = found;
    // Cloudflare refuses duplicates per scope, so extras would be a bug elsewhere; they are ours, so tidy them.
    for (const rule of extra) await rules.delete(scope, rule.id, { ipKey, banId: desired.ban_id });
    if (keep!.notes !== notes || keep!.mode !== mode) {
      await rules.update(scope, keep!.id, target, mode, notes, { ipKey, banId: desired.ban_id });
    }
    markActive(ipKey, { ...keep!, mode }, target, notes, desired.until);
  }

  async function apply(ipKey: string, desired: DesiredBlock, row: EnforcementRow | undefined): Promise<void> {
    const target = cloudflareTargetFor(ipKey);
    const notes = formatTag({ ipKey, jails: desired.jails, until: desired.until });
    const context = { ipKey, banId: desired.ban_id, target: describe(target) };

    // The config moved to another scope: the old rule goes first (by its id, in its scope).
    if (row?.cloudflare_id && row.scope !== label) {
      await removeByRow(ipKey, row, desired.ban_id);
      row = store.enforcementOf(ipKey);
    }
    if (row?.state === 'foreign' && row.scope === label) return; // someone else's rule blocks it; the reconciler watches it

    // We hold a rule id (active, or a removal/update that failed before the ban came back): update it in place.
    if (row?.cloudflare_id && row.scope === label) {
      if (row.state === 'active' && row.notes === notes && row.mode === mode) return;
      try {
        await rules.update(scope, row.cloudflare_id, target, mode, notes, context);
        markActive(ipKey, { id: row.cloudflare_id, target: target.target, value: target.value, mode, notes }, target, notes, desired.until);
        return;
      } catch (error) {
        if (!(error instanceof CloudflareCallError && error.kind === 'not_found')) throw error;
        // Deleted by hand while the ban still runs: create it again below.
        row = save(ipKey, { state: 'pending', cloudflare_id: null, create_uncertain: 0 });
      }
    }

    // A create may have happened without us seeing its answer: look before creating.
    if (row && !row.cloudflare_id && (row.create_uncertain || row.state === 'applying' || row.state === 'removing')) {
      const found = await rules.findOurs(scope, ipKey, target, context);
      if (found.length) return adopt(ipKey, found, target, desired, notes);
    }

    save(ipKey, { scope: label, state: 'applying', cloudflare_id: null, create_uncertain: 1, target: target.target, value: target.value, mode, notes: null });
    let created: AccessRule;
    try {
      created = await rules.create(scope, target, mode, notes, context);
    } catch (error) {
      if (error instanceof CloudflareCallError && error.hasCode(DUPLICATE_RULE_CODE)) return adoptDuplicate(ipKey, target, desired, notes);
      // A refusal (4xx) or a 429 means nothing was created; a timeout, 5xx or lost response may have.
      const definitelyNotCreated = error instanceof CloudflareCallError && (error.kind === 'rejected' || error.kind === 'rate_limited');
      save(ipKey, { state: 'failed', create_uncertain: definitelyNotCreated ? 0 : 1 });
      throw error;
    }
    markActive(ipKey, created, target, notes, desired.until);
  }

  /** Cloudflare already holds a rule for this value: ours (adopt it) or someone else's (leave it be). */
  async function adoptDuplicate(ipKey: string, target: CloudflareTarget, desired: DesiredBlock, notes: string): Promise<void> {
    const context = { ipKey, banId: desired.ban_id };
    const existing = await rules.findByValue(scope, target, context);
    const ours = existing.filter((rule) => ipKeyFromTag(rule.notes) === ipKey);
    if (ours.length) return adopt(ipKey, ours, target, desired, notes);
    const foreign = existing[0];
    if (!foreign) {
      save(ipKey, { state: 'failed', create_uncertain: 0 });
      throw new CloudflareCallError('rejected', `Cloudflare reported a duplicate rule for ${target.value} but lists none`);
    }
    save(ipKey, {
      scope: label,
      state: 'foreign',
      cloudflare_id: null,
      create_uncertain: 0,
      target: target.target,
      value: target.value,
      mode: foreign.mode,
      notes: foreign.notes,
      applied_until: desired.until,
      foreign_rule_id: foreign.id,
      attempts: 0,
      last_error: null,
      applied_at: nowIso(),
    });
    store.auditSystem(nowIso(), 'cloudflare_foreign_rule', ipKey, desired.ban_id, {
      rule_id: foreign.id,
      mode: foreign.mode,
      notes: foreign.notes,
      note: 'an existing rule we did not create covers this ban; it will never be deleted by EdgeJail',
    });
    logger.info({ ipKey, ruleId: foreign.id }, 'ban covered by a Cloudflare rule EdgeJail did not create; leaving it alone');
  }

  /** Deletes what the row says we placed; without an id, finds our rule by tag first. */
  async function removeByRow(ipKey: string, row: EnforcementRow, banId: number | null): Promise<void> {
    const rowScope = scopeFromLabel(row.scope) ?? scope;
    let target: CloudflareTarget | null = null;
    try {
      target = cloudflareTargetFor(ipKey);
    } catch {
      target = null;
    }
    const context = { ipKey, banId };
    save(ipKey, { state: 'removing' });
    if (row.cloudflare_id) {
      const result = await rules.delete(rowScope, row.cloudflare_id, context);
      if (result === 'gone') {
        // A 404 is success, unless the id was stale and our rule lives on under another id.
        for (const rule of await rules.findOurs(rowScope, ipKey, target, context)) await rules.delete(rowScope, rule.id, context);
      }
    } else {
      for (const rule of await rules.findOurs(rowScope, ipKey, target, context)) await rules.delete(rowScope, rule.id, context);
    }
    save(ipKey, { state: 'removed', cloudflare_id: null, create_uncertain: 0, attempts: 0, last_error: null });
  }

  async function lift(ipKey: string, row: EnforcementRow | undefined, banId: number | null): Promise<void> {
    if (!row || row.state === 'removed') return;
    const nothingPlaced = !row.cloudflare_id && !row.create_uncertain && (row.state === 'pending' || row.state === 'failed' || row.state === 'dry_run');
    if (row.state === 'foreign' || nothingPlaced) {
      // Never delete a rule we did not create; forget that it covered us.
      save(ipKey, { state: 'removed', cloudflare_id: null, create_uncertain: 0, attempts: 0, last_error: null });
      return;
    }
    await removeByRow(ipKey, row, banId);
  }

  async function enforceOne(ipKey: string): Promise<KeyOutcome> {
    try {
      const desired = store.desiredFor(ipKey, nowIso());
      const row = store.enforcementOf(ipKey);
      if (desired) await apply(ipKey, desired, row);
      else await lift(ipKey, row, store.latestBanId(ipKey));
      return { ipKey };
    } catch (error) {
      if (error instanceof UnsupportedIpKeyError) {
        save(ipKey, { state: 'failed', last_error: error.message });
        return { ipKey, error, permanent: true };
      }
      return { ipKey, error };
    }
  }

  const enforceable = (ipKey: string) => {
    try {
      cloudflareTargetFor(ipKey);
      return true;
    } catch {
      return false;
    }
  };

  async function reconcile(context: ReconcileContext): Promise<ReconcileReport> {
    const report = emptyReport(BACKEND, nowIso());
    const tagged = await rules.listTagged(scope);
    report.seen = tagged.length;
    const byKey = new Map<string, AccessRule[]>();
    for (const rule of tagged) {
      const ipKey = ipKeyFromTag(rule.notes)!;
      byKey.set(ipKey, [...(byKey.get(ipKey) ?? []), rule]);
    }
    const desiredAll = store.desiredAll(nowIso());
    const untouched = (ipKey: string) =>
      (store.enforcementOf(ipKey)?.rev ?? 0) === (context.revisions.get(ipKey) ?? 0) && !store.outboxRow(ipKey);
    const audit = (ipKey: string, banId: number | null, detail: Record<string, unknown>) =>
      store.auditSystem(nowIso(), 'reconcile_repair', ipKey, banId, { backend: BACKEND, scope: label, ...detail });

    const keys = new Set([...byKey.keys(), ...desiredAll.keys(), ...store.liveEnforcement().map((r) => r.ip_key)]);
    for (const ipKey of keys) {
      try {
        await context.locks.withLock(ipKey, async () => {
          if (!untouched(ipKey)) {
            report.skippedBusy++;
            return;
          }
          const found = byKey.get(ipKey) ?? [];
          const desired = store.desiredFor(ipKey, nowIso());
          const row = store.enforcementOf(ipKey);
          if (row && row.scope && row.scope !== label && row.state !== 'removed') {
            // Placed under another scope or backend before a config change: the worker moves or removes it by its id.
            store.enqueue(ipKey, nowIso());
            return;
          }
          if (desired && !enforceable(ipKey)) return;
          if (!desired) {
            for (const rule of found) {
              await rules.delete(scope, rule.id, { ipKey, banId: store.latestBanId(ipKey) });
              report.orphansRemoved++;
              audit(ipKey, store.latestBanId(ipKey), { repair: 'orphan_removed', rule_id: rule.id, notes: rule.notes });
            }
            if (row && row.state !== 'removed' && row.state !== 'foreign' && row.scope === label) {
              save(ipKey, { state: 'removed', cloudflare_id: null, create_uncertain: 0 });
            }
            return;
          }
          if (found.length) {
            const [rule] = found;
            if (row?.cloudflare_id !== rule!.id || row?.state !== 'active') {
              report.idsRepaired++;
              audit(ipKey, desired.ban_id, { repair: 'id_repaired', rule_id: rule!.id, stored_id: row?.cloudflare_id ?? null, stored_state: row?.state ?? null });
              markActive(ipKey, rule!, cloudflareTargetFor(ipKey), rule!.notes, desired.until);
            }
            // Notes, mode or extras out of date: the worker brings them in line.
            const notes = formatTag({ ipKey, jails: desired.jails, until: desired.until });
            if (found.length > 1 || rule!.notes !== notes || rule!.mode !== mode) {
              if (found.length > 1) save(ipKey, { state: 'applying', cloudflare_id: null, create_uncertain: 1 });
              else save(ipKey, { notes: rule!.notes, mode: rule!.mode });
              store.enqueue(ipKey, nowIso());
            }
            return;
          }
          if (row?.state === 'foreign' && row.scope === label) {
            const target = cloudflareTargetFor(ipKey);
            const stillThere = (await rules.findByValue(scope, target, { ipKey, banId: desired.ban_id })).some((r) => r.id === row.foreign_rule_id);
            if (stillThere) return;
            report.foreignGone++;
            audit(ipKey, desired.ban_id, { repair: 'foreign_rule_gone', rule_id: row.foreign_rule_id });
          } else {
            report.missingReapplied++;
            audit(ipKey, desired.ban_id, { repair: 'missing_reapplied', stored_id: row?.cloudflare_id ?? null, stored_state: row?.state ?? null });
          }
          save(ipKey, { state: 'pending', cloudflare_id: null, create_uncertain: 0, foreign_rule_id: null });
          store.enqueue(ipKey, nowIso());
        });
      } catch (error) {
        report.errors.push(`${ipKey}: ${error instanceof Error ? error.message : String(error)}`);
        if (error instanceof CloudflareCallError && (error.kind === 'rate_limited' || error.kind === 'stopped')) break;
      }
    }
    return report;
  }

  return {
    name: BACKEND,
    scopeLabel: label,
    batchSize: 1,
    concurrency: config.concurrency,
    enforce: (ipKeys) => Promise.all(ipKeys.map(enforceOne)),
    reconcile,
  };
}
