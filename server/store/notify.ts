// The reads the notifier's ticker makes (new bans, recent Cloudflare calls, sites) and
// the audit rows of its messages. Prepared once; every read is bounded by an index.
import type { Db } from './db.ts';
import { preparedOnFirstUse } from './prepared.ts';

export interface RecentCallRow {
  at: string;
  outcome: 'ok' | 'error' | 'dry_run';
  http_status: number | null;
  operation: string;
  error: string | null;
}

export function createNotifyStore(db: Db) {
  const s = preparedOnFirstUse({
    maxBanId: () => db.prepare('SELECT coalesce(max(id), 0) AS id FROM bans'),
    newBansByJail: () => db.prepare('SELECT jail, count(*) AS n, max(id) AS last FROM bans WHERE id > ? GROUP BY jail'),
    newBanSample: () => db.prepare('SELECT ip_key FROM bans WHERE id > ? ORDER BY id LIMIT ?'),
    recentCalls: () => db.prepare("SELECT at, outcome, http_status, operation, error FROM cloudflare_actions WHERE outcome != 'dry_run' ORDER BY at DESC, id DESC LIMIT ?"),
    sites: () => db.prepare('SELECT id, name, created_at, last_event_at FROM sites ORDER BY created_at'),
    // Bounded by the audit_log_at index: read once at start.
    sentNotifications: () => db.prepare("SELECT at, detail FROM audit_log WHERE at > ? AND action = 'notify_sent' ORDER BY at DESC, id DESC LIMIT ?"),
  });
  return {
    maxBanId: () => (s.maxBanId.get() as { id: number }).id,
    /** Bans created after `afterId`, counted by jail, with a few keys, and the new cursor. */
    newBans(afterId: number, sample: number) {
      const rows = s.newBansByJail.all(afterId) as Array<{ jail: string; n: number; last: number }>;
      const byJail = Object.fromEntries(rows.map((r) => [r.jail, r.n]));
      const total = rows.reduce((sum, r) => sum + r.n, 0);
      const lastId = rows.reduce((max, r) => Math.max(max, r.last), afterId);
      const keys = total ? (s.newBanSample.all(afterId, sample) as Array<{ ip_key: string }>).map((r) => r.ip_key) : [];
      return { total, byJail, sample: keys, lastId };
    },
    recentCloudflareCalls: (limit: number) => s.recentCalls.all(limit) as RecentCallRow[],
    sites: () => s.sites.all() as Array<{ id: string; name: string; created_at: string; last_event_at: string | null }>,
    /** The notify_sent rows after `sinceIso`, newest first. */
    sentNotificationsSince: (sinceIso: string, limit: number) => s.sentNotifications.all(sinceIso, limit) as Array<{ at: string; detail: string | null }>,
  };
}

export type NotifyStore = ReturnType<typeof createNotifyStore>;
