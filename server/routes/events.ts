// POST /v1/events: the webhook every site reports to.
import type { FastifyInstance } from 'fastify';
import { Counter, Summary } from 'prom-client';
import { eventBatchSchema, describeZodError } from '../contract/events.ts';
import { fastSafeParse } from '../contract/compiled-parse.ts';
import { finishBatch, stageBatch, type IngestContext } from '../ingest/ingest-batch.ts';
import { createGroupCommit, GROUP_SLICE_MS, SHEDDING_SLICE_MS } from '../ingest/group-commit.ts';
import { HttpError } from '../http/errors.ts';
import { misconfiguredProxyWarnings } from '../ingest/misconfigured-proxy.ts';
import { answerSigner } from '../auth/response-signature.ts';
import { eventBatchResponseSchema } from '../contract/responses.ts';
import { answer, failure, SITE_AUTH } from '../openapi/describe.ts';

const POST_EVENTS_SCHEMA = {
  operationId: 'postEvents',
  tags: ['Webhook'],
  security: SITE_AUTH,
  summary: 'Report events from a WordPress site',
  description:
    'Up to 500 events in one signed batch (256 KiB). A 200 means every event is committed; an event id seen before is acknowledged as a duplicate and never counted twice, so retries are safe. `decisions` lists the current bans of the IPs in this batch; `shield` says whether the site’s login shield is up (then the plugin refuses XML-RPC authentication itself); `unbanned` lists the bans lifted since the batch’s `unban_cursor`, so the plugin’s origin 403 cache forgets them. An empty `events` with an `unban_cursor` is a sync.',
  // Documents the body; the handler parses it, after the signature check.
  body: eventBatchSchema,
  response: {
    200: answer('Stored and judged', eventBatchResponseSchema),
    400: failure('A field is wrong (`invalid_payload`, message names it) or the body is not JSON; nothing of the batch is stored'),
    401: failure('Signature checks failed (`missing_site`, `stale_timestamp`, `bad_signature` (also for an unknown site id, so the answer does not tell which ids exist), …)'),
    413: failure('The body exceeds 256 KiB'),
    415: failure('The body is not application/json'),
    429: failure('Too many ingest requests in flight; retry after Retry-After'),
    503: failure('The service is under pressure; retry after Retry-After'),
  },
};

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
  // zod's own parse made ~2.2 KB of garbage an event; this answers valid batches with none.
  const parseBatch = fastSafeParse(eventBatchSchema);
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
  app.ingestAdmission.onRefused((_reason, atDoor) => {
    if (atDoor) rejected.inc({ status: '429' });
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
  const group = createGroupCommit((fn) => core.bans.transaction(fn), (fn) => core.bans.transaction(fn), {
    sliceMs: () => (app.ingestAdmission.shedding() ? SHEDDING_SLICE_MS : GROUP_SLICE_MS),
  });
  // The WAL starts over only between two commits: the checkpoint holds them for one pass.
  app.checkpointer?.holdCommitsWith(() => group.hold());

  // Per-request access logs would cost more than the ingest itself under a flood; metrics count instead.
  app.post('/v1/events', { schema: POST_EVENTS_SCHEMA, preHandler: app.auth([app.verifySite]), logLevel: 'warn' }, async (request) => {
    const started = process.hrtime.bigint();
    const parsed = parseBatch(request.body);
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
