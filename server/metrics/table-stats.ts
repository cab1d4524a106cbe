// The figures /metrics reads from whole tables (bans by state and jail, Cloudflare state,
// API calls, sites' last events). With 150,000 bans one read took ~270 ms; on the event loop,
// a few scrapers then starved ingest. So they are read by the query worker, at most once per
// `maxAgeMs` whatever the number of scrapers, and every scrape in between renders the snapshot.
import type { Aggregates } from '../store/aggregates.ts';

type Count<K extends string> = Record<K, string> & { n: number };

export interface TableSnapshot {
  bansByState: Array<Count<'state'>>;
  activeBansByJail: Array<Count<'jail'>>;
  enforcementByState: Array<Count<'state'>>;
  siteLastEvent: Array<{ id: string; name: string; last_event_at: string | null }>;
  /** Running totals of Cloudflare calls by operation|outcome|status. */
  apiCalls: Map<string, { labels: { operation: string; outcome: string; status: string }; value: number }>;
}

export const TABLE_STATS_MAX_AGE_MS = 10_000;

export function createTableStats(queries: Aggregates, now: () => number = Date.now, maxAgeMs = TABLE_STATS_MAX_AGE_MS) {
  const apiCalls: TableSnapshot['apiCalls'] = new Map();
  let lastActionId = 0;
  let snapshot: TableSnapshot | null = null;
  let readAt = -Infinity;
  let reading: Promise<void> | null = null;

  async function read(): Promise<void> {
    const [bansByState, activeBansByJail, enforcementByState, siteLastEvent, calls] = await Promise.all([
      queries.bansByState(),
      queries.activeBansByJail(),
      queries.enforcementByState(),
      queries.siteLastEvent(),
      queries.apiCallsSince(lastActionId),
    ]);
    // cloudflare_actions only grows, so only rows after the last one seen are counted.
    for (const row of calls) {
      const labels = { operation: row.operation, outcome: row.outcome, status: String(row.status) };
      const key = `${labels.operation}|${labels.outcome}|${labels.status}`;
      const entry = apiCalls.get(key);
      if (entry) entry.value += row.n;
      else apiCalls.set(key, { labels, value: row.n });
      lastActionId = Math.max(lastActionId, row.last_id);
    }
    snapshot = { bansByState, activeBansByJail, enforcementByState, siteLastEvent, apiCalls };
    readAt = now();
  }

  return {
    /** Resolves once the snapshot is at most maxAgeMs old; concurrent callers share one read. */
    async refresh(): Promise<void> {
      if (now() - readAt <= maxAgeMs) return;
      reading ??= read().finally(() => {
        reading = null;
      });
      await reading;
    },
    current: (): TableSnapshot | null => snapshot,
  };
}

export type TableStats = ReturnType<typeof createTableStats>;
