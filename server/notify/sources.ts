// The notifier's I/O edge in the service: the shield service, the sites, the enforcer's
// status and the Cloudflare calls it recorded, and the bans table, read as snapshots.
import type { Db } from '../store/db.ts';
import { createNotifyStore } from '../store/notify.ts';
import type { ShieldService } from '../shield/shield-service.ts';
import { enforcementHealth, type EnforcerStatusView } from './enforcement-health.ts';
import type { NotifierSources } from './notifier.ts';
import type { SentItems } from './evaluator.ts';

/** Enough calls to see a run of failures; the index on `at` makes it a short read. */
const RECENT_CALLS = 50;
const BAN_SAMPLE = 10;
/** How far back the sent messages are read at start: enough for any condition still open. */
const SENT_ROWS = 2_000;
const SENT_LOOKBACK_MS = 7 * 86_400_000;

export function serviceSources(deps: { db: Db; shield: ShieldService; enforcerStatus: () => EnforcerStatusView }): NotifierSources {
  const store = createNotifyStore(deps.db);
  let banCursor: number | null = null;
  return {
    shields: (nowMs) =>
      deps.shield.status(nowMs).map((s) => ({ siteId: s.site_id, siteName: s.name, up: s.up, since: s.since, until: s.until, reason: s.reason })),
    sites: () =>
      store.sites().map((s) => ({ id: s.id, name: s.name, createdAtMs: Date.parse(s.created_at), lastEventAtMs: s.last_event_at ? Date.parse(s.last_event_at) : null })),
    enforcement: () => enforcementHealth(deps.enforcerStatus(), store.recentCloudflareCalls(RECENT_CALLS)),
    sentBefore: (nowMs) =>
      store
        .sentNotificationsSince(new Date(nowMs - SENT_LOOKBACK_MS).toISOString(), SENT_ROWS)
        .reverse()
        .map((row) => {
          const detail = JSON.parse(row.detail ?? '{}') as { type?: string; items?: SentItems['items'] };
          return { atMs: Date.parse(row.at), items: detail.type === 'digest' ? (detail.items ?? []) : [] };
        }),
    newBans() {
      if (banCursor === null) {
        banCursor = store.maxBanId();
        return { total: 0, byJail: {}, sample: [] };
      }
      const found = store.newBans(banCursor, BAN_SAMPLE);
      banCursor = found.lastId;
      return { total: found.total, byJail: found.byJail, sample: found.sample };
    },
  };
}
