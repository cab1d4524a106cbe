// "Is this ip_key banned, and until when?" for every event of every batch, answered from
// SQLite's (ip_key, state, expires_at) index behind a bounded cache and a Bloom filter of
// the banned ip_keys: memory stays about the same at 200 or 200,000 active bans, and most
// addresses, never banned, are answered without a query.
import type { Store } from '../store/store.ts';
import { createIpKeyFilter } from './ip-key-filter.ts';

export interface ActiveBanSummary {
  jail: string;
  expiresAtMs: number;
}

/**
 * Two generations instead of an LRU Map: evicting a Map's first key after many
 * delete/re-set pairs walks the deleted slots V8 keeps at the front until its next
 * rehash, and that walk was 6% of ingest CPU at 100,000 distinct addresses. Here a hit
 * in the old generation moves to the young one, and when the young one is full the old
 * one is dropped whole: O(1), at most maxCached entries, recently used ones survive.
 */
export function createBanLookup(store: Store, maxCached: number) {
  const half = Math.max(1, Math.floor(maxCached / 2));
  let young = new Map<string, ActiveBanSummary | null>();
  let old = new Map<string, ActiveBanSummary | null>();
  // Filled from the active bans by warmUp (in chunks, off the start-up path: 200,000 keys
  // are a few hundred ms), and from every write this process makes from the start. Another
  // process's bans reach it through noteExternalChange; until they have (the database's
  // data_version moved past the one synced), a negative answer is checked in SQLite.
  const filter = createIpKeyFilter();
  let syncedVersion = store.dataVersion();
  /** The last ip_key warmUp read; null once every active ban is in the filter. */
  let warmedTo: string | null = '';
  // data_version read once per synchronous run rather than per miss: a batch of 50 events
  // asked 50 times, and the PRAGMA was 4.5% of ingest CPU. A commit another process makes
  // meanwhile is seen from the next turn of the event loop, before any later batch.
  let versionThisTurn: number | null = null;
  const endTurn = () => {
    versionThisTurn = null;
  };
  function currentVersion(): number {
    if (versionThisTurn === null) {
      versionThisTurn = store.dataVersion();
      queueMicrotask(endTurn);
    }
    return versionThisTurn;
  }

  function load(ipKey: string): ActiveBanSummary | null {
    const row = store.furthestActiveBan(ipKey);
    return row ? { jail: row.jail, expiresAtMs: Date.parse(row.expires_at) } : null;
  }

  function remember(ipKey: string, ban: ActiveBanSummary | null): void {
    if (young.size >= half) {
      old = young;
      young = new Map();
    }
    young.set(ipKey, ban);
  }

  return {
    /** The ban that reaches furthest on ipKey, if any (expired or not: the caller compares with its clock). */
    get(ipKey: string): ActiveBanSummary | null {
      const hit = young.get(ipKey);
      if (hit !== undefined) return hit;
      if (warmedTo === null && !filter.mayContain(ipKey) && currentVersion() === syncedVersion) return null;
      let ban = old.get(ipKey);
      if (ban === undefined) ban = load(ipKey);
      else old.delete(ipKey);
      remember(ipKey, ban);
      return ban;
    },
    /** Adds the next `chunk` active bans to the filter; true once all are in (then it answers misses). */
    warmUp(chunk: number): boolean {
      if (warmedTo === null) return true;
      const keys = store.activeBanIpKeysAfter(warmedTo, chunk);
      for (const ipKey of keys) filter.add(ipKey);
      warmedTo = keys.length < chunk ? null : keys[keys.length - 1]!;
      return warmedTo === null;
    },
    /** Call after any write to ipKey's bans (ours or another process's). */
    forget(ipKey: string): void {
      filter.add(ipKey);
      young.delete(ipKey);
      old.delete(ipKey);
    },
    /** A ban change another process committed (seen in the audit log): it may have banned ipKey. */
    noteExternalChange(ipKey: string): void {
      filter.add(ipKey);
    },
    /** Whether every ban change other processes committed has been noted (checked once a turn). */
    inStep: (): boolean => currentVersion() === syncedVersion,
    /** Every change committed up to data_version `version` has been noted. */
    markSynced(version: number): void {
      syncedVersion = version;
    },
    dataVersion: () => store.dataVersion(),
    clear(): void {
      young.clear();
      old.clear();
    },
    size: () => young.size + old.size,
  };
}

export type BanLookup = ReturnType<typeof createBanLookup>;
