// The edge between the enforcer and the alerts: the few fields of its status the alerts
// read, and the Cloudflare calls it records. Both the enforcer of today and the enforcement
// core being built (which adds `placements`) fit `EnforcerStatusView` as they are.
import type { RecentCallRow } from '../store/notify.ts';
import type { EnforcementHealth } from './snapshot.ts';

export interface EnforcerStatusView {
  mode: 'enforcing' | 'dry_run';
  lastReconcile: { blockRule?: { state: 'present' | 'missing' | 'unknown'; detail: string } } | null;
  /** Active bans by where they are held; `origin_only` means no edge slot was free. */
  placements?: Partial<Record<string, number>>;
}

export function enforcementHealth(status: EnforcerStatusView, calls: readonly RecentCallRow[]): EnforcementHealth {
  return {
    mode: status.mode,
    recentCalls: calls.map((c) => ({ atMs: Date.parse(c.at), ok: c.outcome === 'ok', httpStatus: c.http_status, operation: c.operation, error: c.error })),
    blockRule: status.lastReconcile?.blockRule ?? null,
    originOnly: status.placements ? (status.placements.origin_only ?? 0) : null,
  };
}
