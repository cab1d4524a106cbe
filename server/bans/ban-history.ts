// Past bans reach the jail engine one ip_key at a time, read from SQLite's
// bans(ip_key, created_at) index the first time the service meets the key after a restart,
// instead of all at start-up: at 200,000 bans that read was seconds of start-up and tens
// of MB of marks and recidive counts for keys that may never come back.
//
// A key met for the first time costs that query even when it has no ban at all, which is
// every address of a botnet: ~5% of ingest CPU at 100,000 addresses (the bounded set of keys
// found empty cannot hold them). A Bloom filter of the keys with a ban since the look-back,
// filled in chunks after start-up and by every later ban change, answers "nothing to read"
// for most of them without SQLite.
import type { Store } from '../store/store.ts';
import { remembersBansOf, restoreBanHistory, type JailState, type PastBan } from '../jail/engine.ts';
import { createIpKeyFilter } from './ip-key-filter.ts';

/** A stored ban as the engine takes it. */
export function pastBanOf(ipKey: string, jail: string, createdAt: string, expiresAt: string, liftedAt: string | null): PastBan {
  const expiresAtMs = Date.parse(expiresAt);
  const liftedAtMs = liftedAt ? Date.parse(liftedAt) : null;
  // Lifted at or after its expiry is the expiry sweep, not an admin: live, such a ban
  // still counts towards recidive, so it must count after a restart too.
  return { ipKey, jail, createdAtMs: Date.parse(createdAt), expiresAtMs, liftedAtMs: liftedAtMs !== null && liftedAtMs < expiresAtMs ? liftedAtMs : null };
}

export interface BanHistoryOptions {
  /** Bans created after this count (the restore's look-back, fixed when the service started). */
  sinceMs: number;
  /** Keys found with nothing to remember, kept so their next events cost no query. */
  maxChecked?: number;
}

export function createBanHistory(store: Store, jails: JailState, { sinceMs, maxChecked = 10_000 }: BanHistoryOptions) {
  const sinceIso = new Date(sinceMs).toISOString();
  // Two generations, as in the ban lookup: bounded, and O(1) to age out.
  const half = Math.max(1, Math.floor(maxChecked / 2));
  let young = new Set<string>();
  let old = new Set<string>();
  const filter = createIpKeyFilter();
  /** The next ban id warmUp reads from; null once every ban since the look-back is in the filter. */
  let warmFrom: number | null = -1;

  function checked(ipKey: string): boolean {
    if (young.has(ipKey)) return true;
    if (!old.has(ipKey)) return false;
    remember(ipKey);
    return true;
  }

  function remember(ipKey: string): void {
    if (young.size >= half) {
      old = young;
      young = new Set();
    }
    young.add(ipKey);
  }

  function read(ipKey: string): PastBan[] {
    return store.restorableBansOfIpKey(ipKey, sinceIso).map(([jail, createdAt, expiresAt, liftedAt]) => pastBanOf(ipKey, jail, createdAt, expiresAt, liftedAt));
  }

  return {
    read,
    /**
     * Call before the engine is told anything of ipKey. Its bans are read at most once while
     * the engine remembers them: after that the service tells the engine of every change.
     */
    ensure(ipKey: string, nowMs: number, storeInStep = false): void {
      if (remembersBansOf(jails, ipKey) || checked(ipKey)) return;
      // storeInStep: every ban change another process committed has come through forget().
      if (storeInStep && warmFrom === null && !filter.mayContain(ipKey)) return;
      restoreBanHistory(jails, ipKey, read(ipKey), nowMs);
      // Nothing kept (no bans, or all past memory): reading again would find the same.
      if (!remembersBansOf(jails, ipKey)) remember(ipKey);
    },
    /** Adds the next `chunk` bans since the look-back to the filter; true once all are in (then it answers). */
    warmUp(chunk: number): boolean {
      if (warmFrom === null) return true;
      if (warmFrom < 0) warmFrom = store.firstBanIdCreatedAfter(sinceIso);
      const rows = warmFrom === null ? [] : store.banIpKeysCreatedAfterFrom(warmFrom, sinceIso, chunk);
      for (const [, ipKey] of rows) filter.add(ipKey);
      warmFrom = rows.length < chunk ? null : rows[rows.length - 1]![0] + 1;
      return warmFrom === null;
    },
    /** ipKey's bans changed (here, or in another process): read them when next met. */
    forget(ipKey: string): void {
      filter.add(ipKey);
      young.delete(ipKey);
      old.delete(ipKey);
    },
    checkedKeys: () => young.size + old.size,
  };
}

export type BanHistory = ReturnType<typeof createBanHistory>;
