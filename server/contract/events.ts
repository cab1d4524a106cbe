// The webhook contract between the WordPress plugin and the service: the one place
// that defines what a site may send to POST /v1/events and what it gets back.
import { z } from 'zod';
import { normaliseIp } from '../jail/ip.ts';
import { msOf } from '../shared/iso-time.ts';

export const EVENT_TYPES = [
  'login_failed',
  'login_succeeded',
  'xmlrpc_login_failed',
  'xmlrpc_multicall',
  'app_password_failed',
  'rest_auth_failed',
  'user_enumeration',
  'blocked_username',
  'lostpassword_unknown_user',
  'pingback',
] as const;
export const eventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof eventTypeSchema>;

export const MAX_EVENTS_PER_BATCH = 500;
/**
 * The most attempts one event may carry. An XML-RPC multicall bundles a few thousand
 * password tries at most (PHP's memory and time limits end it well before that), and an
 * unbounded weight would let one request stand for any number of failures. Above it: 400.
 */
export const MAX_EVENT_WEIGHT = 5_000;
export const MAX_BODY_BYTES = 256 * 1024;
/** Field limits; the plugin truncates to these so one odd username cannot void a batch. */
export const LIMITS = { username: 255, user_agent: 512, path: 2048, error_code: 64, url: 2048, version: 64 } as const;

// Reports may be delayed by the plugin's spool, never dated ahead of us.
const MAX_CLOCK_SKEW_MS = 300_000;

const isoTimestamp = z
  .string()
  .datetime({ offset: true, message: 'must be an ISO-8601 timestamp with a time zone' })
  .refine((s) => msOf(s) <= Date.now() + MAX_CLOCK_SKEW_MS, 'is in the future');

const ipAddress = z
  .string()
  .max(64)
  .refine((s) => normaliseIp(s) !== null, 'must be an IPv4 or IPv6 address (no zone id, no brackets)');

/**
 * The blog of a WordPress network an event came from: one site id may stand for a whole
 * network, and the owner needs to know which blog was attacked. Its home URL, http(s) only.
 */
const blogUrl = z
  .string()
  .max(LIMITS.url)
  .refine((s) => {
    try {
      const url = new URL(s);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be the blog\'s http:// or https:// home URL, without credentials')
  .nullish();

const attemptEventSchema = z.strictObject({
  id: z.uuid({ message: 'must be a UUID' }),
  type: eventTypeSchema,
  ip: ipAddress,
  occurred_at: isoTimestamp,
  username: z.string().max(LIMITS.username).nullish(),
  user_agent: z.string().max(LIMITS.user_agent).nullish(),
  path: z.string().max(LIMITS.path).nullish(),
  /** WP_Error code of a failed login, e.g. incorrect_password, invalid_username. */
  error_code: z.string().max(LIMITS.error_code).nullish(),
  /** Attempts carried by this one request: 1, or the auth calls inside an XML-RPC multicall. */
  weight: z.number().int().min(1).max(MAX_EVENT_WEIGHT, `must be at most ${MAX_EVENT_WEIGHT} (the most attempts one request can carry)`).default(1),
  site_url: blogUrl,
});

/** Sent once on activation (and on settings change): who the site is. */
const helloEventSchema = z.strictObject({
  id: z.uuid({ message: 'must be a UUID' }),
  type: z.literal('hello'),
  occurred_at: isoTimestamp,
  site_url: z.string().max(LIMITS.url).nullish(),
  plugin_version: z.string().max(LIMITS.version).nullish(),
  wp_version: z.string().max(LIMITS.version).nullish(),
  php_version: z.string().max(LIMITS.version).nullish(),
});

/**
 * A site's own user opened the one-time unlock link the plugin mailed them, from the
 * address it was asked for: the service lifts that address's bans and allowlists it for
 * `unlock_ttl`, audited as `user:<username>`.
 */
const selfUnlockEventSchema = z.strictObject({
  id: z.uuid({ message: 'must be a UUID' }),
  type: z.literal('self_unlock'),
  ip: ipAddress,
  occurred_at: isoTimestamp,
  username: z.string().min(1, 'must name the user who unlocked').max(LIMITS.username),
  site_url: blogUrl,
});

export const eventSchema = z.discriminatedUnion('type', [
  helloEventSchema,
  selfUnlockEventSchema,
  attemptEventSchema.extend({ type: eventTypeSchema }),
]);
export type IncomingEvent = z.infer<typeof eventSchema>;
export type AttemptEvent = z.infer<typeof attemptEventSchema>;
export type HelloEvent = z.infer<typeof helloEventSchema>;
export type SelfUnlockEvent = z.infer<typeof selfUnlockEventSchema>;

/** Unbans listed in one answer; a plugin further behind is told to clear its whole cache. */
export const MAX_UNBANNED_PER_ANSWER = 1_000;

export const eventBatchSchema = z
  .strictObject({
    events: z.array(eventSchema).max(MAX_EVENTS_PER_BATCH),
    /**
     * The `unbanned.cursor` of the last answer the plugin took; the answer lists the bans lifted
     * after it, so an unban reaches the plugin's origin cache on its next request.
     */
    unban_cursor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  // An empty batch is only a sync (the plugin asking for unbans before it refuses a cached ban).
  .refine((b) => b.events.length > 0 || b.unban_cursor !== undefined, {
    path: ['events'],
    message: 'must hold at least 1 event (an empty batch is allowed only as a sync, with unban_cursor)',
  });
export type EventBatch = z.infer<typeof eventBatchSchema>;

export const decisionSchema = z.object({
  ip: z.string(),
  ip_key: z.string(),
  jail: z.string(),
  banned_until: z.string(),
});

/** The site's login shield: while `up`, the plugin refuses XML-RPC authentication itself. */
export const shieldAnswerSchema = z.object({
  up: z.boolean(),
  since: z.string().optional(),
  until: z.string().optional(),
  reason: z.string().optional(),
});

/**
 * Bans lifted (unban, allowlisting, self-unlock) after the plugin's `unban_cursor`, oldest first.
 * `clear_all`: the plugin sent no cursor, or is more than MAX_UNBANNED_PER_ANSWER behind; it
 * drops its whole origin cache (current bans come back with the next decisions).
 */
export const unbannedAnswerSchema = z.object({
  cursor: z.number().int(),
  ip_keys: z.array(z.string()),
  clear_all: z.boolean(),
});

export const eventBatchResponseSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  decisions: z.array(decisionSchema),
  shield: shieldAnswerSchema.optional(),
  unbanned: unbannedAnswerSchema,
});
export type UnbannedAnswer = z.infer<typeof unbannedAnswerSchema>;
export type EventBatchResponse = z.infer<typeof eventBatchResponseSchema>;

export const errorResponseSchema = z.object({
  error: z.string(),
  message: z.string(),
});

/** "events[3].ip: must be an IPv4 or IPv6 address" — names the field a person must fix. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path
        .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join('');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
