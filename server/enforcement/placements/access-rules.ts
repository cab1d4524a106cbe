// IP Access Rules: one rule per ip_key, in the account or zone. The primary placement of
// the `access_rules` backend, and the list's overflow when the list is full.
// Ordering is what keeps unbans from being lost:
//   - the row says 'applying' (create_uncertain=1) before the create call leaves, so a
//     crash or a lost response is followed by a lookup, never by a blind second create;
//   - the rule id is written in the same statement that says 'active';
//   - an unban deletes by stored id, and without an id it finds the rule by tag first.
import type { CloudflareApi } from '../../cloudflare/api.ts';
import { CloudflareCallError } from '../../cloudflare/api.ts';
import { createAccessRulesApi, scopeFromLabel, scopeLabel, type AccessRule, type AccessRuleMode, type ScopeParams } from '../../cloudflare/access-rules-api.ts';
import { formatTag, ipKeyFromTag } from '../../cloudflare/tag.ts';
import { cloudflareTargetFor, UnsupportedIpKeyError, type CloudflareTarget } from '../../cloudflare/target.ts';
import type { DesiredBlock, EnforcementRow } from '../../store/enforcement.ts';
import type { KeyOutcome, IpPlacement, PlacementDeps, PlaceRequest } from '../types.ts';
import { ipReconcileParts } from '../ip-reconcile.ts';

/** Cloudflare's answer to a second rule for the same value in the same scope. */
export const DUPLICATE_RULE_CODE = 10009;

/** Cloudflare's limit of IP Access Rules per account, on every plan. */
export const ACCESS_RULES_PER_ACCOUNT = 50_000;

export function createAccessRulesPlacement(deps: PlacementDeps & { api: CloudflareApi }): IpPlacement {
  const { api, store, rows, config, now, logger } = deps;
  const rules = createAccessRulesApi(api, config.page_size);
  const scope: ScopeParams = config.scope === 'account' ? { account_id: config.account_id! } : { zone_id: config.zone_id! };
  const label = scopeLabel(scope);
  const mode = config.mode as AccessRuleMode;
  const where = { backend: 'access_rules', scope: label, placement: 'access_rule' } as const;
  const describe = (target: CloudflareTarget) => `${target.target} ${target.value} in ${label}`;
  const shape = (target: CloudflareTarget, ruleMode: string) => ({ target: target.target, value: target.value, mode: ruleMode });

  function markActive(ipKey: string, rule: AccessRule, target: CloudflareTarget, notes: string, until: string): void {
    rows.active(ipKey, where, { ...shape(target, rule.mode || mode), id: rule.id, notes, until });
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
        row = rows.pending(ipKey);
      }
    }

    // A create may have happened without us seeing its answer: look before creating.
    if (row && !row.cloudflare_id && (row.create_uncertain || row.state === 'applying' || row.state === 'removing')) {
      const found = await rules.findOurs(scope, ipKey, target, context);
      if (found.length) return adopt(ipKey, found, target, desired, notes);
    }

    rows.applying(ipKey, where, shape(target, mode));
    let created: AccessRule;
    try {
      created = await rules.create(scope, target, mode, notes, context);
    } catch (error) {
      if (error instanceof CloudflareCallError && error.hasCode(DUPLICATE_RULE_CODE)) return adoptDuplicate(ipKey, target, desired, notes);
      // A refusal (4xx) or a 429 means nothing was created; a timeout, 5xx or lost response may have.
      const definitelyNotCreated = error instanceof CloudflareCallError && (error.kind === 'rejected' || error.kind === 'rate_limited');
      rows.failed(ipKey, error instanceof Error ? error.message : String(error), !definitelyNotCreated);
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
      rows.failed(ipKey, 'duplicate reported but none listed', false);
      throw new CloudflareCallError('rejected', `Cloudflare reported a duplicate rule for ${target.value} but lists none`);
    }
    rows.foreign(ipKey, where, { ...shape(target, foreign.mode), foreignId: foreign.id, notes: foreign.notes, until: desired.until });
    store.auditSystem(new Date(now()).toISOString(), 'cloudflare_foreign_rule', ipKey, desired.ban_id, {
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
    rows.removing(ipKey);
    if (row.cloudflare_id) {
      const result = await rules.delete(rowScope, row.cloudflare_id, context);
      if (result === 'gone') {
        // A 404 is success, unless the id was stale and our rule lives on under another id.
        for (const rule of await rules.findOurs(rowScope, ipKey, target, context)) await rules.delete(rowScope, rule.id, context);
      }
    } else {
      for (const rule of await rules.findOurs(rowScope, ipKey, target, context)) await rules.delete(rowScope, rule.id, context);
    }
    rows.removed(ipKey);
  }

  async function attempt(ipKey: string, work: () => Promise<void>): Promise<KeyOutcome> {
    try {
      await work();
      return { ipKey };
    } catch (error) {
      if (error instanceof UnsupportedIpKeyError) {
        rows.unenforceable(ipKey, error.message);
        return { ipKey, error, permanent: true };
      }
      return { ipKey, error };
    }
  }

  /** Runs at most `concurrency` keys at once; the limiter still bounds the rate. */
  async function pooled<T>(items: T[], fn: (item: T) => Promise<KeyOutcome>): Promise<KeyOutcome[]> {
    const out: KeyOutcome[] = new Array(items.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(config.concurrency, items.length) }, async () => {
        while (next < items.length) {
          const i = next++;
          out[i] = await fn(items[i]!);
        }
      }),
    );
    return out;
  }

  return {
    ...ipReconcileParts(deps.ipReconcile, 'access_rule'),
    describe: (object) => ({ rule_id: object.id, notes: object.tag }),
    name: 'access_rule',
    backend: 'access_rules',
    scopeLabel: label,
    batchSize: 1,
    concurrency: config.concurrency,
    capacity: () => config.access_rule_capacity,
    place: (requests: PlaceRequest[]) => pooled(requests, (r) => attempt(r.ipKey, () => apply(r.ipKey, r.desired, r.row))),
    lift: (liftRows: EnforcementRow[]) => pooled(liftRows, (row) => attempt(row.ip_key, () => removeByRow(row.ip_key, row, store.latestBanId(row.ip_key)))),

    async readPlaced() {
      return (await rules.listTagged(scope)).map((rule) => ({ key: ipKeyFromTag(rule.notes)!, id: rule.id, tag: rule.notes, mode: rule.mode }));
    },
    async removePlaced(objects) {
      const removed = [];
      for (const object of objects) {
        await rules.delete(scope, object.id, { ipKey: object.key, banId: store.latestBanId(object.key) });
        removed.push(object);
      }
      return removed;
    },
    isCurrent: (object, desired) => object.tag === formatTag({ ipKey: object.key, jails: desired.jails, until: desired.until }) && object.mode === mode,
    async foreignStillThere(row) {
      const target = cloudflareTargetFor(row.ip_key);
      return (await rules.findByValue(scope, target, { ipKey: row.ip_key, banId: store.latestBanId(row.ip_key) })).some((r) => r.id === row.foreign_rule_id);
    },
    activeFields(ipKey, object, desired) {
      return { ...shape(cloudflareTargetFor(ipKey), object.mode ?? mode), id: object.id, notes: object.tag, until: desired.until };
    },
  };
}
