// "Is this ip_key banned, and until when?" for every event of every batch, answered from
// SQLite's (ip_key, state, expires_at) index behind a bounded LRU cache: memory stays the
// same at 200 or 200,000 active bans, and a start-up reads nothing.
import type { Store } from '../store/store.ts';

export interface ActiveBanSummary {
  jail: string;
  expiresAtMs: number;
}

export function createBanLookup(store: Store, maxCached: number) {
  // Insertion order is recency: a hit is re-inserted, the first key is the least recently used.
  const cache = new Map<string, ActiveBanSummary | null>();

  function load(ipKey: string): ActiveBanSummary | null {
    const row = store.furthestActiveBan(ipKey);
    return row ? { jail: row.jail, expiresAtMs: Date.parse(row.expires_at) } : null;
  }

  return {
    /** The ban that reaches furthest on ipKey, if any (expired or not: the caller compares with its clock). */
    get(ipKey: string): ActiveBanSummary | null {
      let ban = cache.get(ipKey);
      if (ban === undefined) {
        ban = load(ipKey);
        if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
      } else {
        cache.delete(ipKey);
      }
      cache.set(ipKey, ban);
      return ban;
    },
    /** Call after any write to ipKey's bans (ours or another process's). */
    forget(ipKey: string): void {
      cache.delete(ipKey);
    },
    clear(): void {
      cache.clear();
    },
    size: () => cache.size,
  };
}

export type BanLookup = ReturnType<typeof createBanLookup>;
