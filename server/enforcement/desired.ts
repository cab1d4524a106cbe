// What the edge must hold, read from the bans table: for an ip_key its bans, for a range the
// bans it stands for. The worker places by it and the reconciler compares the edge with it.
import type { DesiredBlock, EnforcementStore } from '../store/enforcement.ts';
import { rangeDesired } from './ranges.ts';
import { iso } from './types.ts';

export interface DesiredView {
  one(key: string, at?: string): DesiredBlock | null;
  all(): Map<string, DesiredBlock>;
}

export function createDesiredView(store: EnforcementStore, now: () => number): DesiredView {
  return {
    one(key, at = iso(now())) {
      const members = key.endsWith('/24') || key.endsWith('/48') ? store.rangeMembers(key) : null;
      if (!members) return store.desiredFor(key, at);
      return rangeDesired(key, members.map((m) => store.desiredFor(m, at)));
    },
    all() {
      const all = store.desiredAll(iso(now()));
      for (const { rangeKey, members } of store.ranges()) {
        const desired = rangeDesired(rangeKey, members.map((m) => all.get(m) ?? null));
        if (desired) all.set(rangeKey, desired);
      }
      return all;
    },
  };
}
