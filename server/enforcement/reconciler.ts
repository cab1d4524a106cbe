// The one reconciler, for every placement: reads every tagged object each placement holds
// at Cloudflare and makes rows and edge agree with the bans table. It removes tagged
// objects no ban wants, re-queues active bans with nothing at the edge, repairs stored ids,
// and never touches an object without our tag. Each repair is an audit_log row.
import { CloudflareCallError } from '../cloudflare/api.ts';
import { cloudflareTargetFor } from '../cloudflare/target.ts';
import type { DesiredBlock, EnforcementStore } from '../store/enforcement.ts';
import type { RowStates } from './row-state.ts';
import { emptyReport, iso, type PlacedObject, type Placement, type ReconcileContext, type ReconcileReport } from './types.ts';

interface Found {
  placement: Placement;
  object: PlacedObject;
}

const enforceable = (ipKey: string) => {
  try {
    cloudflareTargetFor(ipKey);
    return true;
  } catch {
    return false;
  }
};

export async function reconcilePlacements(
  deps: {
    store: EnforcementStore;
    rows: RowStates;
    now: () => number;
    /** What the bans table wants at the edge for a key (an ip_key or a range), and for all of them. */
    desired: { one(key: string): DesiredBlock | null; all(): Map<string, DesiredBlock> };
  },
  placements: Placement[],
  context: ReconcileContext,
  reportName: string,
): Promise<ReconcileReport> {
  const { store, rows, now } = deps;
  const nowIso = () => iso(now());
  const report = emptyReport(reportName, nowIso());
  const byName = new Map(placements.map((p) => [p.name, p]));
  const byKey = new Map<string, Found[]>();
  const readable: Placement[] = [];
  for (const placement of placements) {
    try {
      for (const object of await placement.readPlaced()) {
        byKey.set(object.key, [...(byKey.get(object.key) ?? []), { placement, object }]);
        report.seen++;
      }
      readable.push(placement);
    } catch (error) {
      report.errors.push(`${placement.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // A placement we could not read proves nothing about its keys: leave those alone.
  const unread = new Set(placements.filter((p) => !readable.includes(p)).map((p) => p.name as string));
  const audit = (ipKey: string, banId: number | null, placement: Placement, detail: Record<string, unknown>) =>
    store.auditSystem(nowIso(), 'reconcile_repair', ipKey, banId, { backend: placement.backend, scope: placement.scopeLabel, ...detail });
  const idField = (placement: Placement) => (placement.name === 'list' ? 'item_id' : 'rule_id');

  const releases: Array<() => void> = [];
  const claim = (ipKey: string): boolean => {
    const row = store.enforcementOf(ipKey);
    if ((row?.rev ?? 0) !== (context.revisions.get(ipKey) ?? 0) || store.outboxRow(ipKey)) return false;
    const release = context.locks.tryLock(ipKey);
    if (release) releases.push(release);
    return release !== null;
  };
  const orphans = new Map<Placement, PlacedObject[]>();
  const orphan = (found: Found) => orphans.set(found.placement, [...(orphans.get(found.placement) ?? []), found.object]);

  try {
    const desiredAll = deps.desired.all();
    const keys = new Set([...byKey.keys(), ...desiredAll.keys(), ...store.liveEnforcement().map((r) => r.ip_key)]);
    for (const ipKey of keys) {
      if (!claim(ipKey)) {
        report.skippedBusy++;
        continue;
      }
      const found = byKey.get(ipKey) ?? [];
      const desired = deps.desired.one(ipKey);
      const row = store.enforcementOf(ipKey);
      if (row?.placement === 'range' && desired) {
        // A range stands for this ban: an object of its own at the edge is a leftover.
        found.forEach(orphan);
        continue;
      }
      const holder = row?.placement ? byName.get(row.placement as Placement['name']) : undefined;
      if (row?.placement && unread.has(row.placement)) continue;
      if (holder && row!.scope && row!.scope !== holder.scopeLabel && row!.state !== 'removed') {
        // Placed under another scope before a config change: the worker moves or removes it by its id.
        store.enqueue(ipKey, nowIso());
        continue;
      }
      if (!desired) {
        found.forEach(orphan);
        if (!found.length && row && row.state !== 'removed' && row.state !== 'dry_run') rows.removed(ipKey);
        continue;
      }
      if (!enforceable(ipKey)) continue;
      // The object in the row's own placement is the one that counts; any other copy is a leftover.
      const keep = found.find((f) => f.placement === holder) ?? found[0];
      for (const extra of found) if (extra !== keep) orphan(extra);
      if (keep) {
        const { placement, object } = keep;
        if (row?.cloudflare_id !== object.id || row?.state !== 'active' || row?.placement !== placement.name) {
          report.idsRepaired++;
          audit(ipKey, desired.ban_id, placement, {
            repair: 'id_repaired', [idField(placement)]: object.id, stored_id: row?.cloudflare_id ?? null, stored_state: row?.state ?? null,
          });
          rows.active(ipKey, { backend: placement.backend, scope: placement.scopeLabel, placement: placement.name as 'list' | 'access_rule' }, placement.activeFields(ipKey, object, desired));
        }
        if (!placement.isCurrent(object, desired)) {
          // Notes or mode out of date: the worker brings them in line.
          rows.observed(ipKey, { notes: object.tag, ...(object.mode !== undefined ? { mode: object.mode } : {}) });
          store.enqueue(ipKey, nowIso());
        }
        continue;
      }
      if (!row || row.placement === 'origin_only' || !holder) {
        // Nothing is expected at the edge (no slot, or never placed): the worker decides, not us.
        if (!row || row.state === 'removed') {
          store.enqueue(ipKey, nowIso());
          report.missingReapplied++;
          audit(ipKey, desired.ban_id, placements[0]!, { repair: 'missing_reapplied', stored_id: null, stored_state: row?.state ?? null });
        }
        continue;
      }
      if (row.state === 'foreign') {
        if (await holder.foreignStillThere(row)) continue;
        report.foreignGone++;
        audit(ipKey, desired.ban_id, holder, { repair: 'foreign_rule_gone', [idField(holder)]: row.foreign_rule_id });
      } else {
        report.missingReapplied++;
        audit(ipKey, desired.ban_id, holder, { repair: 'missing_reapplied', stored_id: row.cloudflare_id ?? null, stored_state: row.state });
      }
      rows.pending(ipKey);
      store.enqueue(ipKey, nowIso());
    }
    for (const [placement, objects] of orphans) {
      const removed = await placement.removePlaced(objects);
      store.transaction(() => {
        for (const object of removed) {
          report.orphansRemoved++;
          audit(object.key, store.latestBanId(object.key), placement, { repair: 'orphan_removed', [idField(placement)]: object.id, notes: object.tag });
          const row = store.enforcementOf(object.key);
          // Only the row this object stood for is done with; a row placed elsewhere keeps its slot.
          if (row && row.state !== 'removed' && (row.placement === placement.name || !deps.desired.one(object.key))) rows.removed(object.key);
        }
      });
    }
  } catch (error) {
    report.errors.push(error instanceof Error ? error.message : String(error));
    if (!(error instanceof CloudflareCallError)) throw error;
  } finally {
    releases.forEach((release) => release());
  }
  for (const placement of placements) {
    if (placement.checkSetup) report.blockRule = await placement.checkSetup();
  }
  return report;
}
