// /healthz for load balancers and /metrics for Prometheus: neither needs a token, neither
// shows anything secret.
import type { FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { core, metrics } = app;
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  app.addHook('onClose', async () => loopDelay.disable());

  metrics.gauge('edgejail_bans_active', 'IP keys under an active ban', () => core.bans.activeCount());
  metrics.gauge('edgejail_bans_total', 'Ban rows by state', () =>
    core.store.countBansByState().map((r) => ({ labels: { state: r.state }, value: r.n })),
  );
  metrics.gauge('edgejail_ingest_in_flight', 'Ingest requests being handled now', () => app.ingestInFlight());
  metrics.gauge('edgejail_event_loop_lag_seconds', 'Event-loop delay p99 since the last scrape', () => {
    const p99 = loopDelay.percentile(99) / 1e9;
    loopDelay.reset();
    return p99;
  });
  metrics.gauge('edgejail_process_resident_memory_bytes', 'Resident set size', () => process.memoryUsage.rss());
  metrics.gauge('edgejail_cloudflare_outbox_depth', 'IP keys waiting for Cloudflare to catch up', () => app.enforcer.status().outboxDepth);

  app.get('/healthz', async () => {
    core.db.prepare('SELECT 1').get();
    return { status: 'ok', cloudflare: app.enforcer.status().mode };
  });

  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send(metrics.render()));
}
