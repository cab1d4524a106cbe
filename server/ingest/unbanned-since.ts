// What a plugin's origin 403 cache must forget: the bans lifted since the cursor it sent.
// Bans are per address, not per site, so every site hears of every unban; the audit id is
// the cursor because every lift (unban, allowlisting, self-unlock) is an audited `unban`.
import type { Store } from '../store/store.ts';
import { MAX_UNBANNED_PER_ANSWER, type UnbannedAnswer } from '../contract/events.ts';

export function unbannedSince(store: Store, cursor: number | undefined): UnbannedAnswer {
  const latest = store.lastAuditId();
  // No cursor (a first sync, or a plugin older than the cursor): its cache may hold anything.
  if (cursor === undefined || cursor > latest) return { cursor: latest, ip_keys: [], clear_all: true };
  // Nothing audited since: the common answer, without a read of its own.
  if (cursor === latest) return { cursor: latest, ip_keys: [], clear_all: false };
  // Rows another process writes after `latest` was read wait for the next answer.
  const rows = store.unbansSince(cursor, MAX_UNBANNED_PER_ANSWER + 1).filter((r) => r.id <= latest);
  if (rows.length > MAX_UNBANNED_PER_ANSWER) return { cursor: latest, ip_keys: [], clear_all: true };
  return { cursor: latest, ip_keys: [...new Set(rows.map((r) => r.ip_key))], clear_all: false };
}
