// /healthz for load balancers (no token, nothing secret) and /metrics for Prometheus: on its
// own listener (metrics.listen), or behind a bearer token, because it names every site and
// its table figures cost a query-worker read (at most one per 10 s, see metrics/table-stats.ts).
// The process figures (edgejail_process_resident_memory_bytes, heap, event-loop lag, GC) are
// prom-client's default metrics, see metrics/prometheus.ts.
import type { FastifyInstance } from 'fastify';
import { METRICS_CONTENT_TYPE, renderMetrics, scrapedGauge } from '../metrics/prometheus.ts';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { core, metrics } = app;

  scrapedGauge(metrics, { name: 'edgejail_bans_active', help: 'IP keys under an active ban' }, () => core.bans.activeCount());
  scrapedGauge(metrics, { name: 'edgejail_ingest_in_flight', help: 'Ingest requests being handled now' }, () => app.ingestInFlight());
  scrapedGauge(metrics, { name: 'edgejail_cloudflare_outbox_depth', help: 'IP keys waiting for Cloudflare to catch up' }, () => app.enforcer.status().outboxDepth);

  app.get('/healthz', async () => {
    core.db.prepare('SELECT 1').get();
    return { status: 'ok', cloudflare: app.enforcer.mode() };
  });

  app.get('/metrics', { preHandler: app.auth([app.verifyMetrics]) }, async (_request, reply) => {
    await app.tableStats.refresh();
    return reply.type(METRICS_CONTENT_TYPE).send(await renderMetrics(metrics));
  });
}
