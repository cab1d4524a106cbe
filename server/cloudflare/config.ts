// The `cloudflare` section of the service's configuration: which backend enforces bans,
// with what credentials, and how hard we may lean on Cloudflare's API.
import { z } from 'zod';
import { durationSchema } from '../config/duration.ts';

export const CLOUDFLARE_BACKENDS = ['access_rules', 'list'] as const;
export const ACCESS_RULE_MODES = ['block', 'managed_challenge', 'js_challenge', 'challenge'] as const;

const cloudflareFields = z.strictObject({
  /** `access_rules`: one IP Access Rule per ip_key. `list`: items in an account IP list matched by one WAF custom rule. */
  backend: z.enum(CLOUDFLARE_BACKENDS).default('access_rules'),
  /** Usually from CLOUDFLARE_API_TOKEN. Absent means dry-run: decisions recorded, no API call. Never logged. */
  api_token: z.string().min(1).optional(),
  account_id: z.string().min(1).optional(),
  zone_id: z.string().min(1).optional(),
  /** Points the SDK somewhere else (our fake, a proxy). */
  base_url: z.url().optional(),
  /** Where access rules live. Defaults to `account` (every zone of the account) when an account id is set. */
  scope: z.enum(['account', 'zone']).optional(),
  mode: z.enum(ACCESS_RULE_MODES).default('block'),
  list_name: z
    .string()
    .regex(/^[a-z0-9_]+$/, 'must use only a-z, 0-9 and _ (Cloudflare list names)')
    .max(50)
    .default('edgejail_blocked'),
  /** Cloudflare allows 1,200 requests per 5 minutes per user, and going over blocks every call for 5 minutes. */
  rate_limit: z
    .strictObject({
      requests: z.number().int().min(1).default(1200),
      per_seconds: z.number().positive().default(300),
      /** Fraction of the budget left unused, for other tools sharing the token and clock skew. */
      safety_margin: z.number().min(0).max(0.9).default(0.2),
      /** Cloudflare also caps 200 requests/s per client IP; we stay far below. */
      max_per_second: z.number().int().min(1).max(200).default(20),
      /**
       * List item modifications and modifying list requests per `list_changes_per_seconds`:
       * Cloudflare's limits since 2025 are 1,000,000 and 30,000 per 12 hours (the older
       * "10,000 per 5 minutes" held a botnet's bans back for minutes with no call made).
       */
      list_item_changes: z.number().int().min(1).default(1_000_000),
      list_write_requests: z.number().int().min(1).default(30_000),
      list_changes_per_seconds: z.number().positive().default(43_200),
    })
    .prefault({}),
  /** The SDK's own retries sleep on Retry-After without a cap, so by default we retry through the outbox instead. */
  sdk: z
    .strictObject({
      timeout_ms: z.number().int().min(100).max(120_000).default(5_000),
      max_retries: z.number().int().min(0).max(3).default(0),
    })
    .prefault({}),
  /** Backoff for failed calls: exponential from base_ms, with jitter, capped at max_ms; never gives up. */
  retry: z
    .strictObject({
      base_ms: z.number().int().min(1).default(1_000),
      max_ms: z.number().int().min(1).default(300_000),
    })
    .prefault({}),
  reconcile_interval: durationSchema.default(600).refine((seconds) => seconds >= 10, 'must be at least 10s (each run reads every tagged rule)'),
  /** IP keys worked on at once (access_rules backend); the limiter still bounds the rate. */
  concurrency: z.number().int().min(1).max(32).default(4),
  /**
   * Items our list may hold: Cloudflare's limit across all of an account's lists is 10,000
   * on Free, Pro and Business (500,000 on Enterprise). Counted from SQLite, never by reading
   * the list; items of other lists and untagged ones, seen at each reconcile, are deducted.
   */
  list_capacity: z.number().int().min(0).max(10_000_000).default(10_000),
  /**
   * Access rules EdgeJail may hold (Cloudflare: 50,000 per account). With the list backend
   * they take the list's overflow, as far as the API budget allows.
   */
  access_rule_capacity: z.number().int().min(0).max(50_000).default(50_000),
  /**
   * Ranges: when this many banned addresses share one IPv4 /24 (or this many banned /64s one
   * IPv6 /48), one range stands for them at the edge (a CIDR list item or an ip_range rule).
   * A range never covers an allowlisted or never-ban address; the bans keep their own rows.
   */
  aggregate: z
    .strictObject({
      enabled: z.boolean().default(true),
      ipv4_threshold: z.number().int().min(2).max(256).default(16),
      ipv6_threshold: z.number().int().min(2).max(65_536).default(16),
    })
    .prefault({}),
  /** Items per bulk POST/DELETE (list backend). */
  list_batch_size: z.number().int().min(1).max(10_000).default(1_000),
  /** Polling of asynchronous list operations. */
  bulk_poll: z
    .strictObject({
      initial_ms: z.number().int().min(1).default(250),
      max_ms: z.number().int().min(1).default(5_000),
      give_up_after_ms: z.number().int().min(1).default(120_000),
    })
    .prefault({}),
  /** Rules per page when reading access rules back (reconcile, lost-id lookups). */
  page_size: z.number().int().min(5).max(1000).default(500),
});

/** Account scope covers every zone; zone scope only when a zone id alone is given. */
function defaultScope(c: { scope?: 'account' | 'zone'; account_id?: string; zone_id?: string }): 'account' | 'zone' {
  return c.scope ?? (!c.account_id && c.zone_id ? 'zone' : 'account');
}

export const cloudflareConfigSchema = cloudflareFields
  .superRefine((c, ctx) => {
    const scope = defaultScope(c);
    if (!c.api_token) return; // dry-run needs nothing else
    if (c.backend === 'list' && !c.account_id) {
      ctx.addIssue({ code: 'custom', path: ['account_id'], message: 'the list backend needs CLOUDFLARE_ACCOUNT_ID (lists belong to an account)' });
    } else if (scope === 'account' && !c.account_id) {
      ctx.addIssue({ code: 'custom', path: ['account_id'], message: 'account scope needs CLOUDFLARE_ACCOUNT_ID' });
    } else if (scope === 'zone' && !c.zone_id) {
      ctx.addIssue({ code: 'custom', path: ['zone_id'], message: 'set CLOUDFLARE_ACCOUNT_ID or CLOUDFLARE_ZONE_ID with CLOUDFLARE_API_TOKEN' });
    }
  })
  .transform((c) => ({ ...c, scope: defaultScope(c) }))
  .prefault({});

export type CloudflareConfig = z.infer<typeof cloudflareConfigSchema>;
export type CloudflareConfigInput = z.input<typeof cloudflareConfigSchema>;

const ENV_KEYS = {
  EDGEJAIL_CF_BACKEND: 'backend',
  CLOUDFLARE_API_TOKEN: 'api_token',
  CLOUDFLARE_ACCOUNT_ID: 'account_id',
  CLOUDFLARE_ZONE_ID: 'zone_id',
  CLOUDFLARE_BASE_URL: 'base_url',
} as const;

/**
 * Merges the environment over the config file's `cloudflare` section; the result is
 * validated with the rest of the config. Something that is not an object is passed
 * through so validation names it.
 */
export function cloudflareConfigFromEnv(env: NodeJS.ProcessEnv, fileSection: unknown): unknown {
  if (fileSection !== undefined && fileSection !== null && (typeof fileSection !== 'object' || Array.isArray(fileSection))) return fileSection;
  const merged: Record<string, unknown> = { ...((fileSection as Record<string, unknown> | null) ?? {}) };
  for (const [envKey, field] of Object.entries(ENV_KEYS)) {
    const value = env[envKey]?.trim();
    if (value) merged[field] = value;
  }
  return merged;
}

export function parseCloudflareConfig(input: unknown): CloudflareConfig {
  return cloudflareConfigSchema.parse(input);
}

export const isDryRun = (config: CloudflareConfig) => !config.api_token;

/** The config as it may be shown or logged: the token is reduced to whether it is set. */
export function describeCloudflareConfig(config: CloudflareConfig) {
  const { api_token, ...rest } = config;
  return { ...rest, api_token: api_token ? '(set)' : '(not set: dry-run)' };
}
