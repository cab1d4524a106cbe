// Everything the overview page shows, gathered from the core, the enforcer and the
// read-only aggregates into plain data; the view only renders it.
import type { FastifyInstance } from 'fastify';
import type { EnforcerStatus } from '../enforcement/worker.ts';
import type { BanRow } from '../store/store.ts';
import type { Aggregates } from '../store/aggregates.ts';
import { ipKeyOf } from '../jail/ip.ts';
import type { ChartInput } from './chart.ts';

export const WINDOW_MS = 24 * 3600_000;
export const BUCKET_SECONDS = 1800;
const MAX_SERIES = 7;
export const MAX_BANS_SHOWN = 200;

export interface BanView {
  ban: BanRow;
  cloudflare: string | null;
  placement: string | null;
}

/** "203.0.113." → "203.0.113.0/24"; an IPv6 ip_key stays its prefix, a bare IPv6 address becomes its /64. */
export function networkLabel(raw: { net: string; family: 4 | 6 }): string {
  if (raw.family === 4) return `${raw.net}0/24`;
  return raw.net.includes('/') ? raw.net : ipKeyOf(raw.net, 64);
}

/** Every aggregate runs in the query worker; the event loop only waits for the answers. */
export async function overviewData(app: FastifyInstance, queries: Aggregates, nowMs: number, filter = '') {
  const { core, enforcer } = app;
  const sinceIso = new Date(nowMs - WINDOW_MS).toISOString();

  // Chart: one series per site with attempts, the quietest folded into "other sites".
  const bucketMs = BUCKET_SECONDS * 1000;
  const firstBucket = Math.floor((nowMs - WINDOW_MS) / bucketMs) * bucketMs;
  const bucketStartsMs: number[] = [];
  for (let t = firstBucket; t <= nowMs; t += bucketMs) bucketStartsMs.push(t);
  const needle = filter.trim().toLowerCase();
  const [buckets, totals, rawNetworks, bansCreated, topIps, topUsernames, recentAudit, banPage, bansMatching, activeBans] = await Promise.all([
    queries.attemptsByBucket(sinceIso, BUCKET_SECONDS),
    queries.totals(sinceIso),
    queries.topNetworks(sinceIso, 20),
    queries.bansCreatedSince(sinceIso),
    queries.topIps(sinceIso, 10),
    queries.topUsernames(sinceIso, 10),
    queries.recentAudit(12),
    queries.activeBansPage(needle, MAX_BANS_SHOWN),
    queries.activeBansMatching(needle),
    needle ? queries.activeBansMatching('') : null,
  ]);
  const sites = core.store.listSites();
  const siteName = new Map(sites.map((s) => [s.id, s.name]));
  const bySite = new Map<string, number[]>();
  for (const row of buckets) {
    const index = Math.floor((row.bucket * 1000 - firstBucket) / bucketMs);
    if (index < 0 || index >= bucketStartsMs.length) continue;
    let values = bySite.get(row.site_id);
    if (!values) bySite.set(row.site_id, (values = new Array<number>(bucketStartsMs.length).fill(0)));
    values[index]! += row.attempts;
  }
  const ranked = [...bySite.entries()]
    .map(([siteId, values]) => ({ label: siteName.get(siteId) ?? siteId, values, total: values.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.label.localeCompare(b.label));
  const series = ranked.slice(0, MAX_SERIES).map(({ label, values }) => ({ label, values }));
  if (ranked.length > MAX_SERIES) {
    const rest = ranked.slice(MAX_SERIES);
    series.push({ label: `${rest.length} other sites`, values: bucketStartsMs.map((_, i) => rest.reduce((sum, s) => sum + s.values[i]!, 0)) });
  }
  const chart: ChartInput = { bucketStartsMs, series, title: 'Failed attempts per site, last 24 hours, per 30 minutes' };

  const bans: BanView[] = banPage.map((ban) => ({
    ban,
    cloudflare: enforcer.enforcementStateOf(ban.ip_key),
    placement: enforcer.placementOf(ban.ip_key),
  }));

  const networks = new Map<string, { network: string; attempts: number; ips: number }>();
  for (const raw of rawNetworks) {
    const network = networkLabel(raw);
    const entry = networks.get(network) ?? { network, attempts: 0, ips: 0 };
    entry.attempts += raw.attempts;
    entry.ips += raw.ips;
    networks.set(network, entry);
  }

  let cloudflare: EnforcerStatus | null;
  try {
    cloudflare = enforcer.status();
  } catch (error) {
    app.log.warn({ err: error }, 'enforcer status unavailable for the dashboard');
    cloudflare = null;
  }

  return {
    nowMs,
    sinceIso,
    filter,
    chart,
    siteCount: sites.length,
    totals: {
      attempts: totals.attempts,
      ips: totals.ips,
      ignored: totals.ignored,
      activeBans: activeBans ?? bansMatching,
      bansCreated,
    },
    bans,
    bansMatching,
    topIps: topIps.map((row) => ({ ...row, banned: core.bans.currentBan(row.ip_key, nowMs) !== null })),
    topNetworks: [...networks.values()].sort((a, b) => b.attempts - a.attempts).slice(0, 10),
    topUsernames,
    cloudflare,
    recentAudit,
    allowlist: core.allowlistEntries(),
  };
}

export type OverviewData = Awaited<ReturnType<typeof overviewData>>;
