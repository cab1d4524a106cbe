// POST /v1/events: the webhook every site reports to.
import type { FastifyInstance } from 'fastify';
import { Counter, Summary } from 'prom-client';
import { eventBatchSchema, describeZodError } from '../contract/events.ts';
import { finishBatch, stageBatch, type IngestContext } from '../ingest/ingest-batch.ts';
import { createGroupCommit } from '../ingest/group-commit.ts';
import { HttpError } from '../http/errors.ts';
import { misconfiguredProxyWarnings } from '../ingest/misconfigured-proxy.ts';
import { answerSigner } from '../auth/response-signature.ts';

export async function eventRoutes(app: FastifyInstance): Promise<void> {
  const { core, metrics } = app;
  const registers = [metrics];
  const accepted = new Counter({ name: 'edgejail_events_accepted_total', help: 'Events stored, by type and site', labelNames: ['type', 'site'], registers });
  const rejected = new Counter({ name: 'edgejail_events_rejected_total', help: 'Requests refused, by reason', labelNames: ['status'], registers });
  const duplicates = new Counter({ name: 'edgejail_events_duplicate_total', help: 'Events acknowledged again by id, not counted twice', labelNames: ['site'], registers });
  const ignored = new Counter({
    name: 'edgejail_events_ignored_total',
    help: 'Events stored but not counted, by site and reason (allowlist, never_ban:<category>)',
    labelNames: ['site', 'reason'],
    registers,
  });
  const proxyWarnings = misconfiguredProxyWarnings(core.now);
  // Quantiles over the last 5 to 10 minutes (one of two windows is reset every 5 minutes), in bounded memory.
  const decisionLatency = new Summary({
    name: 'edgejail_ingest_seconds',
    help: 'Time to validate, store and judge one batch (quantiles over the last 5 to 10 minutes)',
    percentiles: [0.5, 0.9, 0.99],
    maxAgeSeconds: 600,
    ageBuckets: 2,
    registers,
  });

  // Answers carry decisions the plugin enforces at the origin: signed, bound to the request.
  app.addHook('onSend', answerSigner(core.now));

  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 400 && request.routeOptions.url === '/v1/events') {
      rejected.inc({ status: String(reply.statusCode) });
    }
  });

  const ingest: IngestContext = {
    store: core.store,
    bans: core.bans,
    ipv6Prefix: core.config.ipv6_prefix,
    ignoreLists: core.ignoreLists,
    shield: core.shield,
    selfUnlock: (siteId, ip, username) => core.selfUnlock(siteId, ip, username),
  };
  // The ban service's transaction around each group: it tells the enforcer once that commits.
  const group = createGroupCommit((fn) => core.bans.transaction(fn), (fn) => core.bans.transaction(fn));

  // Per-request access logs would cost more than the ingest itself under a flood; metrics count instead.
  app.post('/v1/events', { preHandler: app.auth([app.verifySite]), logLevel: 'warn' }, async (request) => {
    const started = process.hrtime.bigint();
    const parsed = eventBatchSchema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_payload', describeZodError(parsed.error));
    const site = request.site!;
    const staged = await group.run(() => stageBatch(ingest, site, parsed.data, core.now()));
    const outcome = finishBatch(ingest, site, staged);
    for (const [type, n] of outcome.acceptedByType) accepted.inc({ type, site: site.id }, n);
    if (outcome.response.duplicates) duplicates.inc({ site: site.id }, outcome.response.duplicates);
    for (const [reason, n] of outcome.ignoredByReason) {
      ignored.inc({ site: site.id, reason }, n);
      proxyWarnings.note(request.log, site.id, reason, n);
    }
    decisionLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return outcome.response;
  });
}
