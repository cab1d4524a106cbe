// Past bans reach the jail engine one ip_key at a time, read from SQLite's
// bans(ip_key, created_at) index the first time the service meets the key after a restart,
// instead of all at start-up: at 200,000 bans that read was seconds of start-up and tens
// of MB of marks and recidive counts for keys that may never come back.
import type { Store } from '../store/store.ts';
import { remembersBansOf, restoreBanHistory, type JailState, type PastBan } from '../jail/engine.ts';

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
    ensure(ipKey: string, nowMs: number): void {
      if (remembersBansOf(jails, ipKey) || checked(ipKey)) return;
      restoreBanHistory(jails, ipKey, read(ipKey), nowMs);
      // Nothing kept (no bans, or all past memory): reading again would find the same.
      if (!remembersBansOf(jails, ipKey)) remember(ipKey);
    },
    /** ipKey's bans changed where the engine did not see it (another process): read them when next met. */
    forget(ipKey: string): void {
      young.delete(ipKey);
      old.delete(ipKey);
    },
    checkedKeys: () => young.size + old.size,
  };
}

export type BanHistory = ReturnType<typeof createBanHistory>;
