// Everything the overview page shows, gathered from the core, the enforcer and the
// read-only aggregates into plain data; the view only renders it.
import type { FastifyInstance } from 'fastify';
import type { EnforcerStatus } from '../enforcement/worker.ts';
import type { BanRow } from '../store/store.ts';
import type { Aggregates } from '../store/aggregates.ts';
import { ipKeyOf } from '../jail/ip.ts';
import { formatDuration } from '../config/duration.ts';
import type { ChartInput } from './chart.ts';
import { formatTime } from './format.ts';
import { createShieldStore } from '../store/shields.ts';
import { describeCloudflare, type CloudflareShown } from './cloudflare-state.ts';
import { describeProtection, protectionOf, type Protection } from './protection.ts';

export const WINDOW_MS = 24 * 3600_000;
export const BUCKET_SECONDS = 1800;
const MAX_SERIES = 7;
export const MAX_BANS_SHOWN = 200;

export interface BanView {
  ban: BanRow;
  cloudflare: CloudflareShown;
  placement: string | null;
}

/** A protected address seen in the window: shown apart, never among the attackers. */
export interface ProtectedView {
  ip_key: string;
  attempts: number;
  last_seen: string;
  protection: Protection;
}

const TOP = 10;

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
  const [buckets, totals, rawNetworks, bansCreated, rawTopIps, protectedRows, topUsernames, recentAudit, banPage, matching, allActive, trouble] = await Promise.all([
    queries.attemptsByBucket(sinceIso, BUCKET_SECONDS),
    queries.totals(sinceIso),
    queries.topNetworks(sinceIso, 20),
    queries.bansCreatedSince(sinceIso),
    // More than shown: addresses allowlisted after their events were counted drop out below.
    queries.topIps(sinceIso, TOP * 2),
    queries.protectedSeen(sinceIso, TOP),
    queries.topUsernames(sinceIso, TOP),
    queries.recentAudit(12),
    queries.activeBansPage(needle, MAX_BANS_SHOWN),
    queries.activeBanCounts(needle),
    needle ? queries.activeBanCounts('') : null,
    queries.enforcementTrouble(),
  ]);
  const details = new Map((await queries.enforcementDetail(banPage.map((ban) => ban.ip_key))).map((d) => [d.ip_key, d]));
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
  // Shields up at any time in the window, shaded on the chart.
  const marks = createShieldStore(core.db).overlapping(sinceIso, new Date(nowMs).toISOString()).map((row) => {
    const untilMs = row.lowered_at ? Date.parse(row.lowered_at) : nowMs;
    const name = siteName.get(row.site_id) ?? row.site_id;
    const span = `${formatTime(row.raised_at)} – ${row.lowered_at ? formatTime(row.lowered_at) : 'now'}`;
    return { fromMs: Date.parse(row.raised_at), untilMs, label: `${name}: login shield up ${span} (${row.reason})` };
  });
  const chart: ChartInput = { bucketStartsMs, series, marks, title: 'Failed attempts per site, last 24 hours, per 30 minutes' };

  const bans: BanView[] = banPage.map((ban) => ({
    ban,
    cloudflare: describeCloudflare(enforcer.enforcementStateOf(ban.ip_key), details.get(ban.ip_key), nowMs),
    placement: enforcer.placementOf(ban.ip_key),
  }));

  // Protected addresses are no attackers: ingest marked their events ignored (left out by the
  // query), and one allowlisted since is judged now and moved to the protected list.
  const topIps = [];
  const protectedSeen = new Map<string, ProtectedView>();
  for (const row of protectedRows) {
    protectedSeen.set(row.ip_key, { ip_key: row.ip_key, attempts: row.attempts, last_seen: row.last_seen, protection: protectionOf(core, row.ip_key) ?? describeProtection(core, row.ip_key, row.reason) });
  }
  for (const row of rawTopIps) {
    const protection = protectionOf(core, row.ip_key);
    if (protection) {
      const seen = protectedSeen.get(row.ip_key);
      protectedSeen.set(row.ip_key, { ip_key: row.ip_key, attempts: row.attempts + (seen?.attempts ?? 0), last_seen: row.last_seen, protection });
    } else if (topIps.length < TOP) {
      topIps.push({ ...row, banned: core.bans.currentBan(row.ip_key, nowMs) !== null });
    }
  }

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
      protectedIps: totals.protected_ips,
      ignored: totals.ignored,
      /** Every active ban and every banned ip_key, whatever the filter. */
      active: allActive ?? matching,
      bansCreated,
    },
    bans,
    /** Active bans (and their ip_keys) the filter matches. */
    matching,
    topIps,
    protectedSeen: [...protectedSeen.values()].sort((a, b) => b.attempts - a.attempts || a.ip_key.localeCompare(b.ip_key)).slice(0, TOP),
    cloudflareTrouble: trouble,
    topNetworks: [...networks.values()].sort((a, b) => b.attempts - a.attempts).slice(0, TOP),
    topUsernames,
    cloudflare,
    recentAudit,
    allowlist: core.allowlistEntries(),
    defaultBanDuration: formatDuration(core.config.manual_ban_duration),
    /** Sites whose login shield is up now: a banner each, with a Lower button. */
    shields: core.shield.status(nowMs).filter((s) => s.up).map((s) => {
      const rule = createShieldStore(core.db).shieldRule(s.site_id, 'login');
      return { ...s, rule: rule ? { state: rule.state, last_error: rule.last_error, attempts: rule.attempts } : null };
    }),
  };
}

export type OverviewData = Awaited<ReturnType<typeof overviewData>>;
