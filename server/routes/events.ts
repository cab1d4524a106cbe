// POST /v1/events: the webhook every site reports to.
import type { FastifyInstance } from 'fastify';
import { eventBatchSchema, describeZodError } from '../contract/events.ts';
import { finishBatch, stageBatch, type IngestContext } from '../ingest/ingest-batch.ts';
import { createGroupCommit } from '../ingest/group-commit.ts';
import { HttpError } from '../http/errors.ts';
import { misconfiguredProxyWarnings } from '../ingest/misconfigured-proxy.ts';
import { answerSigner } from '../auth/response-signature.ts';

export async function eventRoutes(app: FastifyInstance): Promise<void> {
  const { core, metrics } = app;
  const accepted = metrics.counter('edgejail_events_accepted_total', 'Events stored, by type and site');
  const rejected = metrics.counter('edgejail_events_rejected_total', 'Requests refused, by reason');
  const duplicates = metrics.counter('edgejail_events_duplicate_total', 'Events acknowledged again by id, not counted twice');
  const ignored = metrics.counter('edgejail_events_ignored_total', 'Events stored but not counted, by site and reason (allowlist, never_ban:<category>)');
  const proxyWarnings = misconfiguredProxyWarnings(core.now);
  const decisionLatency = metrics.summary('edgejail_ingest_seconds', 'Time to validate, store and judge one batch');

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
