// Response bodies of the admin and public routes, as zod schemas. The routes name them in
// their own `schema.response`, which @fastify/swagger publishes as the OpenAPI document;
// the OpenAPI tests check real answers against both. Request bodies are in admin.ts/events.ts.
import { z } from 'zod';
import { decisionSchema, errorResponseSchema, eventBatchResponseSchema } from './events.ts';

export { decisionSchema, errorResponseSchema, eventBatchResponseSchema };

const isoTime = z.string().meta({ format: 'date-time', examples: ['2026-11-25T10:00:00.000Z'] });
const ipKey = z.string().meta({ description: 'The IP address, or the IPv6 prefix it is counted and banned by', examples: ['203.0.113.7', '2001:db8:1:2::/64'] });

export const cloudflareStateSchema = z
  .enum(['applied', 'pending', 'applying', 'removing', 'failed', 'dry_run', 'foreign'])
  .nullable()
  .meta({ description: 'Where the block stands at Cloudflare; null when nothing was ever sent' });

export const banSchema = z
  .strictObject({
    id: z.number().int(),
    ip_key: ipKey,
    jail: z.string().meta({ description: "Jail name, or 'manual'" }),
    reason: z.string(),
    trigger_event_ids: z.string().nullable().meta({ description: 'JSON array of the event ids that crossed the threshold' }),
    ban_count: z.number().int().meta({ description: '1 for a first offence; drives bantime_increment' }),
    created_at: isoTime,
    expires_at: isoTime,
    lifted_at: isoTime.nullable(),
    lifted_by: z.string().nullable().meta({ description: "'expiry', 'admin:api', 'admin:cli', 'admin:dashboard'" }),
    state: z.enum(['active', 'lifted']),
    site_urls: z.string().nullable().meta({ description: 'JSON array of the blog URLs (of a WordPress network) its trigger events came from; null for manual bans and events without site_url' }),
  })
  ;

export const placementSchema = z
  .enum(['list', 'access_rule', 'range', 'origin_only', 'pending'])
  .nullable()
  .meta({ description: "Where the ban is enforced: a list item, an IP access rule, a range, only at the origin (the plugin's 403 cache: the edge is full or dry-run), or pending; null when the ban is not active" });

export const banWithCloudflareSchema = banSchema.extend({ cloudflare: cloudflareStateSchema, placement: placementSchema });

export const eventRecordSchema = z
  .strictObject({
    seq: z.number().int(),
    id: z.string(),
    site_id: z.string(),
    type: z.string(),
    ip: z.string(),
    ip_key: ipKey,
    username: z.string().nullable(),
    user_agent: z.string().nullable(),
    path: z.string().nullable(),
    weight: z.number().int(),
    occurred_at: isoTime,
    received_at: isoTime,
    ignored_reason: z.string().nullable().meta({ description: 'Why the jails did not count it (allowlist, never_ban:<category>), or null' }),
    site_url: z.string().nullable().meta({ description: 'The blog (of a WordPress network) it came from, as the plugin reported it; null when it did not say' }),
  })
  ;

export const auditEntrySchema = z
  .strictObject({
    id: z.number().int(),
    at: isoTime,
    actor: z.string(),
    action: z.string(),
    ip_key: z.string().nullable(),
    ban_id: z.number().int().nullable(),
    site_id: z.string().nullable(),
    detail: z.string().nullable().meta({ description: 'JSON text; never holds a secret' }),
  })
  ;

export const cloudflareActionSchema = z
  .strictObject({
    id: z.number().int(),
    at: isoTime,
    ip_key: z.string().nullable(),
    ban_id: z.number().int().nullable(),
    operation: z.string(),
    target: z.string().nullable(),
    outcome: z.enum(['ok', 'error', 'dry_run']),
    http_status: z.number().int().nullable(),
    cf_error_codes: z.string().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    batch_id: z.number().int().nullable(),
  })
  ;

export const siteSchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    created_at: isoTime,
    secret_rotated_at: isoTime.nullable(),
    site_url: z.string().nullable(),
    plugin_version: z.string().nullable(),
    wp_version: z.string().nullable(),
    last_hello_at: isoTime.nullable(),
    last_event_at: isoTime.nullable(),
    zone_id: z.string().nullable().meta({ description: 'Its Cloudflare zone: set with `site set --zone`, else CLOUDFLARE_ZONE_ID' }),
    hostname: z.string().nullable().meta({ description: 'Set with `site set --host`, else the host of the plugin’s hello `site_url`' }),
  })
  .meta({ description: 'A site as the API shows it: never with its secret' });

export const allowlistRuntimeEntrySchema = z
  .strictObject({ cidr: z.string(), note: z.string().nullable(), created_at: isoTime, created_by: z.string(), expires_at: isoTime.nullable() })
  ;

export const cloudflareStatusSchema = z
  .looseObject({ mode: z.string().optional() })
  .meta({ description: "The enforcer's status: mode (dry-run, access rules, list), outbox depth, last reconcile, rate-limit headroom" });

export const banListResponseSchema = z.strictObject({ bans: z.array(banWithCloudflareSchema) });
export const manualBanResponseSchema = z.strictObject({
  ban: banWithCloudflareSchema,
  extended: z.boolean().meta({ description: 'true when an existing manual ban was extended instead (status 200)' }),
  outcome: z.enum(['banned', 'extended', 'already_longer']).meta({
    description: 'already_longer (status 200): a manual ban reaching further exists; nothing changed, its reason included',
  }),
  message: z.string().meta({ description: 'What happened, in words: e.g. "already banned until …"' }),
});
export const unbanResponseSchema = z.strictObject({ ip_key: ipKey, lifted: z.number().int(), bans: z.array(z.number().int()) });
export const ipHistoryResponseSchema = z.strictObject({
  ip_key: ipKey,
  banned_until: isoTime.nullable(),
  cloudflare: cloudflareStateSchema,
  events: z.array(eventRecordSchema).meta({ description: 'The newest events stored for the address, at most 500' }),
  events_stored: z.number().int().nonnegative().meta({ description: 'How many events are stored for the address, about: `events` lists the newest of them' }),
  bans: z.array(banSchema),
  audit: z.array(auditEntrySchema),
  cloudflare_actions: z.array(cloudflareActionSchema),
});
export const allowlistResponseSchema = z.strictObject({
  config: z.array(z.string()).meta({ description: 'Entries from the config file (read-only here)' }),
  runtime: z.array(allowlistRuntimeEntrySchema),
});
export const allowlistAddResponseSchema = z.strictObject({
  cidr: z.string().meta({ description: 'The entry as stored: host bits cleared, a single address bare' }),
  lifted: z.number().int().min(0).meta({ description: 'Active bans lifted because the entry covers (part of) them' }),
  lifted_ip_keys: z.array(z.string()),
});
export const allowlistRemoveResponseSchema = z.strictObject({ removed: z.string() });
export const sitesResponseSchema = z.strictObject({ sites: z.array(siteSchema) });
export const statusResponseSchema = z.strictObject({
  bans: z.record(z.string(), z.number().int()).meta({ description: 'Ban rows by state' }),
  events_stored: z.number().int(),
  sites: z.number().int(),
  cloudflare: cloudflareStatusSchema,
});
export const cloudflareRangesResponseSchema = z.strictObject({ ipv4: z.array(z.string()), ipv6: z.array(z.string()) });
export const healthResponseSchema = z.strictObject({ status: z.literal('ok'), cloudflare: z.string().optional() });
