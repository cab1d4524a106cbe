// Read-only aggregates for the dashboard and the Grafana metrics. Windows are bounded by
// received_at (indexed) as well as occurred_at, so "the last 24 h" never scans the whole
// retention period.
import type { Db } from './db.ts';
import type { BanRow } from './store.ts';
import { CidrSet, parseCidr } from '../jail/ip.ts';
import { preparedOnFirstUse } from './prepared.ts';

// Everything a site reports except a successful login is part of an attack.
const ATTACKS = "type != 'login_succeeded'";
const WINDOW = 'received_at >= @since AND occurred_at >= @since';
// Events the jails counted: an allowlisted or never-ban address is no attacker.
const COUNTED = 'ignored_reason IS NULL';
// Active bans whose ip_key, jail or reason contain @needle (lower case; '' matches all).
const ACTIVE_MATCHING = "state = 'active' AND (@needle = '' OR instr(lower(ip_key || ' ' || jail || ' ' || reason), @needle) > 0)";

export interface AttemptBucket {
  site_id: string;
  bucket: number;
  attempts: number;
}
export interface TopIp {
  ip_key: string;
  attempts: number;
  sites: number;
  usernames: number;
  last_seen: string;
}
export interface ProtectedSeen {
  ip_key: string;
  /** Why ingest did not count it (`allowlist`, `never_ban:<category>`). */
  reason: string;
  attempts: number;
  last_seen: string;
}
/** Where the enforcer stands with one ip_key: its outbox row (work left to do) and its block's last error. */
export interface EnforcementDetail {
  ip_key: string;
  /** Attempts started so far (the outbox counts a claim when a try begins); null: not in the outbox. */
  attempts: number | null;
  next_attempt_at: string | null;
  outbox_error: string | null;
  /** The last error written on the block itself (kept after the outbox gives a key up). */
  block_error: string | null;
}
export interface KeyInNetwork {
  ip_key: string;
  attempts: number;
  last_seen: string;
  /** False when every event of the key was from a protected address (stored, not counted). */
  counted: boolean;
}
export interface TopNetworkRaw {
  /** "203.0.113." for IPv4 (the /24 without its last octet), the ip_key for IPv6. */
  net: string;
  family: 4 | 6;
  attempts: number;
  ips: number;
}
export interface TopUsername {
  username: string;
  attempts: number;
  ips: number;
}
export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  ip_key: string | null;
  ban_id: number | null;
  site_id: string | null;
  detail: string | null;
}
export interface ApiCallCount {
  operation: string;
  outcome: string;
  status: number;
  n: number;
  last_id: number;
}

export function createDashboardQueries(db: Db) {
  const s = preparedOnFirstUse({
    // better-sqlite3 binds JS numbers as REAL; the cast keeps the division an integer one.
    attemptsByBucket: () => db.prepare(`SELECT site_id,
        (CAST(strftime('%s', occurred_at) AS INTEGER) / CAST(@bucket AS INTEGER)) * CAST(@bucket AS INTEGER) AS bucket,
        sum(weight) AS attempts
      FROM events WHERE ${WINDOW} AND ${ATTACKS} GROUP BY site_id, bucket ORDER BY bucket`),
    totals: () => db.prepare(`SELECT coalesce(sum(weight), 0) AS attempts,
        count(DISTINCT CASE WHEN ${COUNTED} THEN ip_key END) AS ips,
        count(DISTINCT CASE WHEN ignored_reason IS NOT NULL THEN ip_key END) AS protected_ips,
        coalesce(sum(CASE WHEN ignored_reason IS NOT NULL THEN weight END), 0) AS ignored
      FROM events WHERE ${WINDOW} AND ${ATTACKS}`),
    bansCreatedSince: () => db.prepare('SELECT count(*) AS n FROM bans WHERE created_at >= ?'),
    topIps: () => db.prepare(`SELECT ip_key, sum(weight) AS attempts, count(DISTINCT site_id) AS sites,
        count(DISTINCT username) AS usernames, max(occurred_at) AS last_seen
      FROM events WHERE ${WINDOW} AND ${ATTACKS} AND ${COUNTED} GROUP BY ip_key ORDER BY attempts DESC, ip_key LIMIT @limit`),
    protectedSeen: () => db.prepare(`SELECT ip_key, ignored_reason AS reason, sum(weight) AS attempts, max(occurred_at) AS last_seen
      FROM events WHERE ${WINDOW} AND ${ATTACKS} AND ignored_reason IS NOT NULL AND ignored_reason != 'invalid_ip'
      GROUP BY ip_key, ignored_reason ORDER BY attempts DESC, ip_key LIMIT @limit`),
    // rtrim of the digits leaves "a.b.c." of an IPv4 address: its /24.
    topNetworks: () => db.prepare(`SELECT CASE WHEN instr(ip, ':') > 0 THEN ip_key ELSE rtrim(ip, '0123456789') END AS net,
        CASE WHEN instr(ip, ':') > 0 THEN 6 ELSE 4 END AS family, sum(weight) AS attempts, count(DISTINCT ip) AS ips
      FROM events WHERE ${WINDOW} AND ${ATTACKS} AND ${COUNTED} GROUP BY net ORDER BY attempts DESC, net LIMIT @limit`),
    topUsernames: () => db.prepare(`SELECT username, sum(weight) AS attempts, count(DISTINCT ip_key) AS ips
      FROM events WHERE ${WINDOW} AND ${ATTACKS} AND username IS NOT NULL AND username != ''
      GROUP BY username ORDER BY attempts DESC, username LIMIT @limit`),
    // Candidates by text (IPv4 leading octets, or every IPv6 key); the exact test is a CidrSet's.
    keysLike: () => db.prepare(`SELECT ip_key, sum(weight) AS attempts, max(occurred_at) AS last_seen, max(ignored_reason IS NULL) AS counted
      FROM events WHERE ${WINDOW} AND ${ATTACKS} AND ip_key LIKE @like GROUP BY ip_key`),
    recentAudit: () => db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?'),
    // Newest first: the ban someone is looking for is usually the one that just happened.
    activeBansPage: () => db.prepare(`SELECT * FROM bans WHERE ${ACTIVE_MATCHING} ORDER BY created_at DESC, id DESC LIMIT @limit`),
    // One IP can be in several jails at once: bans and banned IPs are two numbers.
    activeBanCounts: () => db.prepare(`SELECT count(*) AS bans, count(DISTINCT ip_key) AS ips FROM bans WHERE ${ACTIVE_MATCHING}`),
    enforcementDetail: () => db.prepare(`SELECT k.value AS ip_key, o.attempts, o.next_attempt_at, o.last_error AS outbox_error, e.last_error AS block_error
      FROM json_each(?) k LEFT JOIN enforcement_outbox o ON o.ip_key = k.value LEFT JOIN cloudflare_enforcement e ON e.ip_key = k.value
      WHERE o.ip_key IS NOT NULL OR e.last_error IS NOT NULL`),
    // Blocks that failed and that the enforcer no longer retries: those need a person.
    failedNotRetried: () => db.prepare(`SELECT count(*) AS n FROM cloudflare_enforcement e
      WHERE e.state = 'failed' AND NOT EXISTS (SELECT 1 FROM enforcement_outbox o WHERE o.ip_key = e.ip_key)`),
    retrying: () => db.prepare('SELECT count(*) AS n FROM enforcement_outbox WHERE attempts > 0 AND last_error IS NOT NULL'),
    activeBansByJail: () => db.prepare("SELECT jail, count(*) AS n FROM bans WHERE state = 'active' GROUP BY jail ORDER BY jail"),
    bansByState: () => db.prepare('SELECT state, count(*) AS n FROM bans GROUP BY state ORDER BY state'),
    apiCallsSince: () => db.prepare(`SELECT operation, outcome, coalesce(http_status, 0) AS status, count(*) AS n, max(id) AS last_id
      FROM cloudflare_actions WHERE id > ? GROUP BY operation, outcome, status`),
    enforcementByState: () => db.prepare('SELECT state, count(*) AS n FROM cloudflare_enforcement GROUP BY state ORDER BY state'),
    siteLastEvent: () => db.prepare('SELECT id, name, last_event_at FROM sites ORDER BY name'),
  });
  const window = (sinceIso: string, limit = 10) => ({ since: sinceIso, limit });

  return {
    attemptsByBucket: (sinceIso: string, bucketSeconds: number) =>
      s.attemptsByBucket.all({ since: sinceIso, bucket: bucketSeconds }) as AttemptBucket[],
    totals: (sinceIso: string) => s.totals.get({ since: sinceIso }) as { attempts: number; ips: number; protected_ips: number; ignored: number },
    bansCreatedSince: (sinceIso: string) => (s.bansCreatedSince.get(sinceIso) as { n: number }).n,
    topIps: (sinceIso: string, limit?: number) => s.topIps.all(window(sinceIso, limit)) as TopIp[],
    topNetworks: (sinceIso: string, limit?: number) => s.topNetworks.all(window(sinceIso, limit)) as TopNetworkRaw[],
    topUsernames: (sinceIso: string, limit?: number) => s.topUsernames.all(window(sinceIso, limit)) as TopUsername[],
    recentAudit: (limit: number) => s.recentAudit.all(limit) as AuditRow[],
    /** The ip_keys inside network `cidr` with attempts since `sinceIso`, most attempts first. */
    keysInNetwork: (cidr: string, sinceIso: string, limit: number): KeyInNetwork[] => {
      const network = parseCidr(cidr);
      if (!network) return [];
      const octets = network.network.split('.').slice(0, Math.floor(network.prefix / 8));
      const like = network.family === 6 ? '%:%' : octets.length ? `${octets.join('.')}.%` : '%.%';
      const inside = new CidrSet([cidr]);
      const rows = s.keysLike.all({ since: sinceIso, like }) as Array<Omit<KeyInNetwork, 'counted'> & { counted: number }>;
      return rows
        .filter((row) => {
          const key = parseCidr(row.ip_key);
          return key !== null && key.family === network.family && key.prefix >= network.prefix && inside.contains(key.network);
        })
        .sort((a, b) => b.attempts - a.attempts || a.ip_key.localeCompare(b.ip_key))
        .slice(0, limit)
        .map((row) => ({ ...row, counted: row.counted === 1 }));
    },
    /** Active bans whose ip_key, jail or reason contain `needle` (lower case; '' for all), newest first. */
    activeBansPage: (needle: string, limit: number) => s.activeBansPage.all({ needle, limit }) as BanRow[],
    /** Active bans and distinct banned ip_keys matching `needle` ('' for all). */
    activeBanCounts: (needle: string) => s.activeBanCounts.get({ needle }) as { bans: number; ips: number },
    /** Outbox and block errors of these ip_keys; keys with neither are left out. */
    enforcementDetail: (ipKeys: string[]) => (ipKeys.length ? (s.enforcementDetail.all(JSON.stringify([...new Set(ipKeys)])) as EnforcementDetail[]) : []),
    /** Failed blocks no longer in the outbox, and outbox keys being retried after an error. */
    enforcementTrouble: () => ({
      failed: (s.failedNotRetried.get() as { n: number }).n,
      retrying: (s.retrying.get() as { n: number }).n,
    }),
    protectedSeen: (sinceIso: string, limit?: number) => s.protectedSeen.all(window(sinceIso, limit)) as ProtectedSeen[],
    activeBansByJail: () => s.activeBansByJail.all() as Array<{ jail: string; n: number }>,
    bansByState: () => s.bansByState.all() as Array<{ state: string; n: number }>,
    /** Cloudflare calls recorded after row `afterId`, grouped; callers keep the running totals. */
    apiCallsSince: (afterId: number) => s.apiCallsSince.all(afterId) as ApiCallCount[],
    enforcementByState: () => s.enforcementByState.all() as Array<{ state: string; n: number }>,
    siteLastEvent: () => s.siteLastEvent.all() as Array<{ id: string; name: string; last_event_at: string | null }>,
  };
}

export type DashboardQueries = ReturnType<typeof createDashboardQueries>;
