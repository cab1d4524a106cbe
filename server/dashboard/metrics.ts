// Metrics a Grafana board needs beyond the ones the routes keep: bans by jail, the state
// of every block at Cloudflare, Cloudflare API calls by operation and status, the
// enforcer's limiter, outbox and reconciler, and how long each site has been silent.
// Read from SQLite (through the table snapshot, see metrics/table-stats.ts) or the enforcer,
// so they are right after a restart.
import type { FastifyInstance } from 'fastify';
import type { EnforcerStatus } from '../enforcement/worker.ts';
import type { TableSnapshot } from '../metrics/table-stats.ts';
import { jailStats } from '../jail/engine.ts';
import { scrapedGauge, type Sample } from '../metrics/prometheus.ts';

export async function boardMetrics(app: FastifyInstance): Promise<void> {
  const { core, metrics, enforcer, tableStats } = app;
  const gauge = (name: string, help: string, labelNames: readonly string[], read: () => Sample[]) => scrapedGauge(metrics, { name, help, labelNames }, read);
  const fromTables = <T>(pick: (s: TableSnapshot) => T[], sample: (row: T) => Sample) => () => {
    const snapshot = tableStats.current();
    return snapshot ? pick(snapshot).map(sample) : [];
  };

  gauge('edgejail_bans_total', 'Ban rows by state', ['state'], fromTables((s) => s.bansByState, (r) => ({ labels: { state: r.state }, value: r.n })));
  gauge('edgejail_bans_active_by_jail', 'Active ban rows by jail', ['jail'], fromTables((s) => s.activeBansByJail, (r) => ({ labels: { jail: r.jail }, value: r.n })));

  // The jails' memory: what a flood of distinct IPs grows, and what the cap forgets.
  gauge('edgejail_jail_tracked_keys', 'IP keys each jail keeps a counting window for (bounded by overload.max_tracked_keys_per_jail)', ['jail'], () =>
    Object.entries(jailStats(core.jails).trackedKeys).map(([jail, value]) => ({ labels: { jail }, value })),
  );
  gauge('edgejail_jail_evictions', 'Windows forgotten since start because a jail reached its key cap (their counts restart)', [], () => [
    { value: jailStats(core.jails).evictions },
  ]);

  gauge(
    'edgejail_cloudflare_blocks',
    'IP keys by enforcement state at Cloudflare (active, pending, failed, dry_run, ...)',
    ['state'],
    fromTables((s) => s.enforcementByState, (r) => ({ labels: { state: r.state }, value: r.n })),
  );
  gauge(
    'edgejail_cloudflare_api_calls',
    'Cloudflare API calls recorded in the database, by operation, outcome (ok, error, dry_run) and HTTP status (0: no response); graph with increase()',
    ['operation', 'outcome', 'status'],
    fromTables((s) => [...s.apiCalls.values()], (entry) => entry),
  );

  // One status read per scrape feeds every enforcer gauge below.
  let cached: { at: number; status: EnforcerStatus | null } = { at: -1, status: null };
  const status = (): EnforcerStatus | null => {
    const at = Date.now();
    if (at - cached.at > 100) {
      try {
        cached = { at, status: enforcer.status() };
      } catch (error) {
        app.log.warn({ err: error }, 'enforcer status unavailable for /metrics');
        cached = { at, status: null };
      }
    }
    return cached.status;
  };
  const fromStatus = (name: string, help: string, read: (s: EnforcerStatus) => number | null | undefined) =>
    gauge(name, help, [], () => {
      const s = status();
      const value = s ? read(s) : null;
      return value === null || value === undefined || !Number.isFinite(value) ? [] : [{ value }];
    });

  fromStatus('edgejail_cloudflare_enforcing', '1 when bans are sent to Cloudflare, 0 in dry-run', (s) => (s.mode === 'enforcing' ? 1 : 0));
  fromStatus('edgejail_cloudflare_outbox_due', 'Outbox entries due now (the rest wait for a retry backoff)', (s) => s.outboxDue);
  fromStatus('edgejail_cloudflare_in_flight', 'IP keys being worked on at Cloudflare now', (s) => s.inFlight);
  fromStatus('edgejail_cloudflare_requests_sent', 'HTTP requests sent to Cloudflare since the process started', (s) => s.apiCalls);
  fromStatus('edgejail_cloudflare_limiter_headroom', 'Requests the client-side rate limiter still allows in its tightest window', (s) => s.limiterHeadroom);
  fromStatus('edgejail_cloudflare_limiter_waits', 'Cloudflare calls the client-side rate limiter held back since the process started', (s) => s.limiterWaits);
  fromStatus('edgejail_cloudflare_limiter_wait_seconds', 'Seconds those calls waited for the limiter in all, since the process started', (s) => s.limiterWaitedMs / 1000);
  fromStatus('edgejail_cloudflare_rate_limited_seconds', 'Seconds every Cloudflare call still waits after a 429', (s) => s.rateLimitedForMs / 1000);
  fromStatus('edgejail_cloudflare_drift_repaired', 'Differences between the bans and Cloudflare that reconciles repaired since start', (s) => s.driftRepaired);
  fromStatus('edgejail_cloudflare_last_reconcile_timestamp_seconds', 'When the last reconcile ran (unix seconds)', (s) =>
    s.lastReconcile ? Date.parse(s.lastReconcile.at) / 1000 : null,
  );
  fromStatus('edgejail_cloudflare_last_reconcile_errors', 'Errors in the last reconcile', (s) => s.lastReconcile?.errors.length ?? null);
  fromStatus('edgejail_cloudflare_block_rule_present', 'List backend: 1 when the WAF rule that makes list items block is in place, 0 when it is missing', (s) => {
    const state = s.lastReconcile?.blockRule?.state;
    return state === 'present' ? 1 : state === 'missing' ? 0 : null;
  });

  fromStatus('edgejail_cloudflare_outbox_lag_seconds', 'How long the longest-waiting due outbox entry has waited (0 when nothing is due)', (s) => s.outboxLagMs / 1000);
  gauge('edgejail_bans_by_placement', 'Active bans by where they are enforced: list, access_rule, range, origin_only, pending', ['placement'], () => {
    const s = status();
    return s ? Object.entries(s.placements).map(([placement, value]) => ({ labels: { placement }, value })) : [];
  });
  gauge('edgejail_cloudflare_capacity_used', 'Edge slots each placement holds', ['placement'], () => {
    const s = status();
    return s ? Object.entries(s.capacity).map(([placement, c]) => ({ labels: { placement }, value: c.used })) : [];
  });
  gauge('edgejail_cloudflare_capacity', 'Edge slots each placement may hold', ['placement'], () => {
    const s = status();
    return s ? Object.entries(s.capacity).filter(([, c]) => c.capacity !== null).map(([placement, c]) => ({ labels: { placement }, value: c.capacity! })) : [];
  });

  gauge(
    'edgejail_site_seconds_since_last_event',
    'Seconds since each site last reported (alert when a site goes quiet)',
    ['site', 'name'],
    fromTables(
      (s) => s.siteLastEvent.filter((site) => site.last_event_at),
      (site) => ({ labels: { site: site.id, name: site.name }, value: Math.max(0, Math.round((core.now() - Date.parse(site.last_event_at!)) / 1000)) }),
    ),
  );
}
