// The reconciler's judgement of one ip_key or range, shared by every per-IP placement (list
// items, access rules, dry run): the row's own placement holds the object that counts, any
// other copy is a leftover, a range's members hold nothing of their own, and an active ban
// with nothing at the edge is queued again. Never touches an object without our tag.
import { cloudflareTargetFor } from '../cloudflare/target.ts';
import { siteOfShieldKey, type EnforcementStore } from '../store/enforcement.ts';
import type { DesiredView } from './desired.ts';
import type { RowStates } from './row-state.ts';
import { iso, isIpPlacement, type Found, type IpPlacement, type Placement, type PlacedObject, type ReconcileRun } from './types.ts';

const enforceable = (ipKey: string) => {
  try {
    cloudflareTargetFor(ipKey);
    return true;
  } catch {
    return false;
  }
};

export const idField = (placement: Placement) => (placement.name === 'list' ? 'item_id' : 'rule_id');

export function ipReconcile({ store, rows, now, desired }: { store: EnforcementStore; rows: RowStates; now: () => number; desired: DesiredView }) {
  const nowIso = () => iso(now());
  return {
    handles: (key: string) => siteOfShieldKey(key) === null,

    reconcileKeys: (): Iterable<string> => [...desired.all().keys(), ...store.liveEnforcement().map((r) => r.ip_key)],

    async judge(ipKey: string, found: Found[], run: ReconcileRun): Promise<void> {
      const { sink } = run;
      const want = desired.one(ipKey);
      const row = store.enforcementOf(ipKey);
      if (row?.placement === 'range' && want) {
        // A range stands for this ban: an object of its own at the edge is a leftover.
        found.forEach(sink.orphan);
        return;
      }
      const holder = run.placements.filter(isIpPlacement).find((p) => p.name === row?.placement) as IpPlacement | undefined;
      if (row?.placement && run.unread.has(row.placement)) return;
      if (holder && row!.scope && row!.scope !== holder.scopeLabel && row!.state !== 'removed') {
        // Placed under another scope before a config change: the worker moves or removes it by its id.
        store.enqueue(ipKey, nowIso());
        return;
      }
      if (!want) {
        found.forEach(sink.orphan);
        if (!found.length && row && row.state !== 'removed' && row.state !== 'dry_run') rows.removed(ipKey);
        return;
      }
      if (!enforceable(ipKey)) return;
      // The object in the row's own placement is the one that counts; any other copy is a leftover.
      const keep = found.find((f) => f.placement === holder) ?? found[0];
      for (const extra of found) if (extra !== keep) sink.orphan(extra);
      if (keep) {
        const placement = keep.placement as IpPlacement;
        const { object } = keep;
        if (row?.cloudflare_id !== object.id || row?.state !== 'active' || row?.placement !== placement.name) {
          sink.repaired('id_repaired', ipKey, want.ban_id, placement, {
            [idField(placement)]: object.id, stored_id: row?.cloudflare_id ?? null, stored_state: row?.state ?? null,
          });
          rows.active(ipKey, { backend: placement.backend, scope: placement.scopeLabel, placement: placement.name as 'list' | 'access_rule' }, placement.activeFields(ipKey, object, want));
        }
        if (!placement.isCurrent(object, want)) {
          // Notes or mode out of date: the worker brings them in line.
          rows.observed(ipKey, { notes: object.tag, ...(object.mode !== undefined ? { mode: object.mode } : {}) });
          store.enqueue(ipKey, nowIso());
        }
        return;
      }
      if (!row || row.placement === 'origin_only' || !holder) {
        // Nothing is expected at the edge (no slot, or never placed): the worker decides, not us.
        if (!row || row.state === 'removed') {
          store.enqueue(ipKey, nowIso());
          sink.repaired('missing_reapplied', ipKey, want.ban_id, run.placements.find(isIpPlacement)!, { stored_id: null, stored_state: row?.state ?? null });
        }
        return;
      }
      if (row.state === 'foreign') {
        if (await holder.foreignStillThere(row)) return;
        sink.repaired('foreign_rule_gone', ipKey, want.ban_id, holder, { [idField(holder)]: row.foreign_rule_id });
      } else {
        sink.repaired('missing_reapplied', ipKey, want.ban_id, holder, { stored_id: row.cloudflare_id ?? null, stored_state: row.state });
      }
      rows.pending(ipKey);
      store.enqueue(ipKey, nowIso());
    },

    /** Only the row this object stood for is done with; a row placed elsewhere keeps its slot. */
    orphanRemoved(placementName: string) {
      return (object: PlacedObject) => {
        const row = store.enforcementOf(object.key);
        if (row && row.state !== 'removed' && (row.placement === placementName || !desired.one(object.key))) rows.removed(object.key);
      };
    },
  };
}

export type IpReconcile = ReturnType<typeof ipReconcile>;

/**
 * The reconcile half of a per-IP placement, for its factory to spread in. The placements of
 * one enforcer share one IpReconcile, so the reconciler lists their keys once.
 */
export function ipReconcileParts(parts: IpReconcile, placementName: IpPlacement['name']) {
  return {
    handles: parts.handles,
    reconcileKeys: parts.reconcileKeys,
    judge: parts.judge,
    orphanRemoved: parts.orphanRemoved(placementName),
  };
}
