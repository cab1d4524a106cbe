// What each HTTP route of the API takes and answers, by reference to the zod schemas the
// routes themselves parse with. The OpenAPI document is built from this table; a test
// fails when a registered route has no entry here, or an entry has no route.
import type { z } from 'zod';
import { allowlistEntrySchema, banListQuerySchema, manualBanSchema, unbanQuerySchema } from '../contract/admin.ts';
import { eventBatchSchema } from '../contract/events.ts';
import * as R from './schemas.ts';
import { SHIELD_REQUEST_COMPONENTS, SHIELD_RESPONSE_COMPONENTS, SHIELD_ROUTE_DOCS } from '../routes/shield.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json when a schema is given. */
  contentType?: string;
}

export interface RouteDoc {
  method: HttpMethod;
  /** As registered with Fastify: `/v1/bans/:ip`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'Webhook' | 'Admin' | 'Operations';
  auth: 'site' | 'admin' | 'none';
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, ResponseDoc>;
}

/** Named request and response bodies: components/schemas of the document. */
export const REQUEST_COMPONENTS: ReadonlyArray<[string, z.ZodType]> = [
  ['EventBatch', eventBatchSchema],
  ['ManualBanRequest', manualBanSchema],
  ['AllowlistEntryRequest', allowlistEntrySchema],
  ...SHIELD_REQUEST_COMPONENTS,
];
export const RESPONSE_COMPONENTS: ReadonlyArray<[string, z.ZodType]> = [
  ['Error', R.errorResponseSchema],
  ['EventBatchResponse', R.eventBatchResponseSchema],
  ['CloudflareRanges', R.cloudflareRangesResponseSchema],
  ['CloudflareState', R.cloudflareStateSchema],
  ['Ban', R.banSchema],
  ['BanWithCloudflare', R.banWithCloudflareSchema],
  ['BanList', R.banListResponseSchema],
  ['ManualBanResponse', R.manualBanResponseSchema],
  ['UnbanResponse', R.unbanResponseSchema],
  ['StoredEvent', R.eventRecordSchema],
  ['AuditEntry', R.auditEntrySchema],
  ['CloudflareAction', R.cloudflareActionSchema],
  ['IpHistory', R.ipHistoryResponseSchema],
  ['AllowlistEntry', R.allowlistRuntimeEntrySchema],
  ['Allowlist', R.allowlistResponseSchema],
  ['AllowlistAdded', R.allowlistAddResponseSchema],
  ['AllowlistRemoved', R.allowlistRemoveResponseSchema],
  ['Site', R.siteSchema],
  ['SiteList', R.sitesResponseSchema],
  ['CloudflareStatus', R.cloudflareStatusSchema],
  ['Status', R.statusResponseSchema],
  ['Health', R.healthResponseSchema],
  ...SHIELD_RESPONSE_COMPONENTS,
];

const error = (description: string): ResponseDoc => ({ description, schema: R.errorResponseSchema });
const IP_PARAM = { ip: 'An IPv4 or IPv6 address, or an IPv6 prefix as banned (URL-encoded, e.g. `2001%3Adb8%3A1%3A2%3A%3A%2F64`)' };
const ADMIN_ERRORS = { 401: error('Missing or wrong admin token (`missing_token`, `malformed_token`, `bad_token`)') };

export const ROUTE_DOCS: readonly RouteDoc[] = [
  ...SHIELD_ROUTE_DOCS,
  {
    method: 'POST',
    path: '/v1/events',
    operationId: 'postEvents',
    tag: 'Webhook',
    auth: 'site',
    summary: 'Report events from a WordPress site',
    description:
      'Up to 500 events in one signed batch (256 KiB). A 200 means every event is committed; an event id seen before is acknowledged as a duplicate and never counted twice, so retries are safe. `decisions` lists the current bans of the IPs in this batch; `shield` says whether the site’s login shield is up (then the plugin refuses XML-RPC authentication itself); `unbanned` lists the bans lifted since the batch’s `unban_cursor`, so the plugin’s origin 403 cache forgets them. An empty `events` with an `unban_cursor` is a sync.',
    body: eventBatchSchema,
    responses: {
      200: { description: 'Stored and judged', schema: R.eventBatchResponseSchema },
      400: error('A field is wrong (`invalid_payload`, message names it) or the body is not JSON; nothing of the batch is stored'),
      401: error('Signature checks failed (`missing_site`, `stale_timestamp`, `bad_signature` (also for an unknown site id, so the answer does not tell which ids exist), …)'),
      413: error('The body exceeds 256 KiB'),
      415: error('The body is not application/json'),
      429: error('Too many ingest requests in flight; retry after Retry-After'),
      503: error('The service is under pressure; retry after Retry-After'),
    },
  },
  {
    method: 'GET',
    path: '/v1/cloudflare-ranges',
    operationId: 'getCloudflareRanges',
    tag: 'Webhook',
    auth: 'site',
    summary: "Cloudflare's proxy ranges",
    description: 'The ranges whose CF-Connecting-IP header the plugin may trust. Signed like /v1/events, over an empty body.',
    responses: { 200: { description: 'IPv4 and IPv6 ranges', schema: R.cloudflareRangesResponseSchema }, 401: error('Signature checks failed') },
  },
  {
    method: 'GET',
    path: '/v1/bans',
    operationId: 'listBans',
    tag: 'Admin',
    auth: 'admin',
    summary: 'List bans',
    description: 'Active bans (default) or the latest 1,000 of all, each with its state at Cloudflare.',
    query: banListQuerySchema,
    responses: { 200: { description: 'Bans', schema: R.banListResponseSchema }, 400: error('Bad query (`invalid_query`)'), ...ADMIN_ERRORS },
  },
  {
    method: 'POST',
    path: '/v1/bans',
    operationId: 'banIp',
    tag: 'Admin',
    auth: 'admin',
    summary: 'Ban an IP by hand',
    description: 'An IP that already has a manual ban gets it extended (200) instead of a second one.',
    body: manualBanSchema,
    responses: {
      201: { description: 'Banned', schema: R.manualBanResponseSchema },
      200: { description: 'The existing manual ban was extended, or already reaches further (outcome already_longer: left as it was)', schema: R.manualBanResponseSchema },
      400: error('A field is wrong (`invalid_payload`)'),
      409: error('banned_at + duration is already past: nothing to enforce (`ban_already_ended`)'),
      422: error('The address is protected: allowlisted, loopback, private or Cloudflare (`ip_not_bannable`)'),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: 'DELETE',
    path: '/v1/bans/:ip',
    operationId: 'unbanIp',
    tag: 'Admin',
    auth: 'admin',
    summary: 'Lift every active ban on an IP',
    description: 'With `jail=fail2ban:<name>`, only the bans of that jail: the other jails\' bans on the IP stay.',
    params: IP_PARAM,
    query: unbanQuerySchema,
    responses: {
      200: { description: 'Lifted', schema: R.unbanResponseSchema },
      400: error('Not an IP address or prefix (`invalid_ip`), or a bad jail (`invalid_query`)'),
      404: error('No active ban (`not_banned`)'),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: 'GET',
    path: '/v1/ips/:ip',
    operationId: 'ipHistory',
    tag: 'Admin',
    auth: 'admin',
    summary: "An IP's whole history",
    description: 'Every stored event, ban, audit entry and Cloudflare call for the IP (or its IPv6 prefix).',
    params: IP_PARAM,
    responses: { 200: { description: 'History', schema: R.ipHistoryResponseSchema }, 400: error('Not an IP address or prefix (`invalid_ip`)'), ...ADMIN_ERRORS },
  },
  {
    method: 'GET',
    path: '/v1/allowlist',
    operationId: 'getAllowlist',
    tag: 'Admin',
    auth: 'admin',
    summary: 'The allowlist',
    responses: { 200: { description: 'Config and runtime entries', schema: R.allowlistResponseSchema }, ...ADMIN_ERRORS },
  },
  {
    method: 'POST',
    path: '/v1/allowlist',
    operationId: 'addAllowlist',
    tag: 'Admin',
    auth: 'admin',
    summary: 'Allowlist an address or range',
    description:
      'Allowlisted addresses are stored but never counted or banned. Every active ban the entry covers, or that covers part of it (an IPv6 /64 holding an allowlisted address), is lifted, at Cloudflare too. `0.0.0.0/0` and `::/0` need `force: true`.',
    body: allowlistEntrySchema,
    responses: {
      201: { description: 'Added', schema: R.allowlistAddResponseSchema },
      400: error('Not an address or CIDR (`invalid_payload`)'),
      422: error('Every address of a family, without `force` (`allowlist_too_wide`)'),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: 'DELETE',
    path: '/v1/allowlist/:cidr',
    operationId: 'removeAllowlist',
    tag: 'Admin',
    auth: 'admin',
    summary: 'Remove a runtime allowlist entry',
    params: { cidr: 'The entry exactly as added, URL-encoded (`192.0.2.0%2F24`)' },
    responses: { 200: { description: 'Removed', schema: R.allowlistRemoveResponseSchema }, 404: error('Not on the runtime allowlist (`not_allowlisted`)'), ...ADMIN_ERRORS },
  },
  {
    method: 'GET',
    path: '/v1/sites',
    operationId: 'listSites',
    tag: 'Admin',
    auth: 'admin',
    summary: 'List sites',
    description: 'Never includes a secret. Sites are added with `edgejail site add`.',
    responses: { 200: { description: 'Sites', schema: R.sitesResponseSchema }, ...ADMIN_ERRORS },
  },
  {
    method: 'GET',
    path: '/v1/status',
    operationId: 'status',
    tag: 'Admin',
    auth: 'admin',
    summary: 'Service status',
    responses: { 200: { description: 'Counts and the Cloudflare enforcer status', schema: R.statusResponseSchema }, ...ADMIN_ERRORS },
  },
  {
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    tag: 'Operations',
    auth: 'none',
    summary: 'Health check for load balancers',
    responses: { 200: { description: 'The database answers', schema: R.healthResponseSchema } },
  },
  {
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Operations',
    auth: 'none',
    summary: 'Prometheus metrics',
    description: 'Beside ingest it needs `Authorization: Bearer <admin token or metrics.token_file token>`; on its own listener (`metrics.listen`) it is open.',
    responses: {
      200: { description: 'Prometheus text exposition format 0.0.4', contentType: 'text/plain' },
      401: error('Missing or wrong token (`missing_token`, `malformed_token`, `bad_token`)'),
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'Operations',
    auth: 'none',
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' } },
  },
];

/** Routes that serve people, not programs: HTML pages and their assets. */
export const UNDOCUMENTED_PREFIXES = ['/dashboard', '/docs'] as const;
