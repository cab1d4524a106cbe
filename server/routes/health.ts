// /healthz for load balancers (no token, nothing secret) and /metrics for Prometheus: on its
// own listener (metrics.listen), or behind a bearer token, because it names every site and
// its table figures cost a query-worker read (at most one per 10 s, see metrics/table-stats.ts).
// The process figures (edgejail_process_resident_memory_bytes, heap, event-loop lag, GC) are
// prom-client's default metrics, see metrics/prometheus.ts.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { healthResponseSchema } from '../contract/responses.ts';
import { answer, failure, NO_AUTH } from '../openapi/describe.ts';
import { METRICS_CONTENT_TYPE, renderMetrics, scrapedCounter, scrapedGauge } from '../metrics/prometheus.ts';

const HEALTH_SCHEMA = {
  operationId: 'health',
  tags: ['Operations'],
  security: NO_AUTH,
  summary: 'Health check for load balancers',
  response: { 200: answer('The database answers', healthResponseSchema) },
};

const METRICS_SCHEMA = {
  operationId: 'metrics',
  tags: ['Operations'],
  security: NO_AUTH,
  summary: 'Prometheus metrics',
  description: 'Beside ingest it needs `Authorization: Bearer <admin token or metrics.token_file token>`; on its own listener (`metrics.listen`) it is open.',
  response: {
    200: answer('Prometheus text exposition format 0.0.4', z.string(), 'text/plain'),
    401: failure('Missing or wrong token (`missing_token`, `malformed_token`, `bad_token`)'),
  },
};

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { core, metrics } = app;

  scrapedGauge(metrics, { name: 'edgejail_bans_active', help: 'IP keys under an active ban' }, () => core.bans.activeCount());
  scrapedGauge(metrics, { name: 'edgejail_ingest_in_flight', help: 'Ingest requests being handled now' }, () => app.ingestInFlight());
  scrapedGauge(metrics, { name: 'edgejail_cloudflare_outbox_depth', help: 'IP keys waiting for Cloudflare to catch up' }, () => app.enforcer.status().outboxDepth);
  const wal = () => app.checkpointer?.stats();
  scrapedGauge(metrics, { name: 'edgejail_wal_pages', help: 'Pages in the SQLite WAL at the last checkpoint pass' }, () => wal()?.lastWalPages ?? []);
  scrapedCounter(metrics, { name: 'edgejail_wal_starts_over_total', help: 'Times the SQLite WAL file started over from its beginning' }, () => wal()?.startsOver);
  scrapedCounter(
    metrics,
    { name: 'edgejail_wal_restarts_total', help: 'WAL RESTARTs that had the writer lock: the fallback when held passes could not catch up' },
    () => wal()?.restarts,
  );
  scrapedCounter(
    metrics,
    { name: 'edgejail_wal_commit_holds_total', help: 'Times the commits waited for one checkpoint pass (a few ms each, the event loop running on)' },
    () => wal()?.holds,
  );

  app.get('/healthz', { schema: HEALTH_SCHEMA }, async () => {
    core.db.prepare('SELECT 1').get();
    return { status: 'ok', cloudflare: app.enforcer.mode() };
  });

  app.get('/metrics', { schema: METRICS_SCHEMA, preHandler: app.auth([app.verifyMetrics]) }, async (_request, reply) => {
    await app.tableStats.refresh();
    return reply.type(METRICS_CONTENT_TYPE).send(await renderMetrics(metrics));
  });
}
