// What the notifier looks at on each tick, as plain data. The I/O that fills it lives in
// sources.ts; everything that decides what is worth a message works on these shapes only.

export interface ShieldSnapshot {
  siteId: string;
  siteName: string;
  up: boolean;
  since: string | null;
  until: string | null;
  reason: string | null;
}

export interface SiteSnapshot {
  id: string;
  name: string;
  createdAtMs: number;
  /** The last batch (events or hello) the site sent; null when it never sent one. */
  lastEventAtMs: number | null;
}

/** One Cloudflare API call, as the enforcement records it. */
export interface CloudflareCallSnapshot {
  atMs: number;
  ok: boolean;
  httpStatus: number | null;
  operation: string;
  error: string | null;
}

/**
 * The small view of enforcement the alerts need. The enforcer's own status is adapted to it
 * at the edge (enforcement-health.ts), so a rewrite of the enforcer only touches the adapter.
 */
export interface EnforcementHealth {
  mode: 'enforcing' | 'dry_run';
  /** Newest first, a bounded window. */
  recentCalls: CloudflareCallSnapshot[];
  /** List backend: the WAF rule that makes the list block, as last seen. Null when not known. */
  blockRule: { state: 'present' | 'missing' | 'unknown'; detail: string } | null;
  /** Active bans held only at the origin (no edge slot). Null while the enforcer does not report it. */
  originOnly: number | null;
}

/** Requests refused to stay bounded within the recent window, by cause. */
export interface ShedSnapshot {
  windowMs: number;
  total: number;
  byReason: Record<string, number>;
}

export interface NewBansSnapshot {
  total: number;
  byJail: Record<string, number>;
  /** A few of the banned keys, for the reader's first look. */
  sample: string[];
}

export interface NotifySnapshot {
  shields: ShieldSnapshot[];
  sites: SiteSnapshot[];
  enforcement: EnforcementHealth;
  shed: ShedSnapshot;
}
