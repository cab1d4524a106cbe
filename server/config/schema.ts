// The service's configuration: one zod schema, file and environment merged into it.
import { z } from 'zod';
import { durationSchema } from './duration.ts';
import { jailsConfigSchema } from '../jail/jail-config.ts';
import { parseCidr } from '../jail/ip.ts';
import { cloudflareConfigSchema } from '../cloudflare/config.ts';
import { shieldConfigSchema } from '../shield/config.ts';
import { notifyConfigSchema } from './notify.ts';
import { tailConfigSchema } from '../logtail/config.ts';

const cidrSchema = z.string().refine((s) => parseCidr(s) !== null, 'must be an IP address or CIDR range');
const portSchema = z.coerce.number({ message: 'must be a port number (0-65535)' }).int().min(0).max(65_535);
const timeoutSchema = durationSchema.refine((s) => s >= 1, 'must be at least 1 s');
/** "host:port" or "[v6]:port", as a listen address is written in most daemons' configs. */
const listenSchema = z
  .string()
  .transform((value, ctx) => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
    const port = match ? Number(match[3]) : NaN;
    if (!match || port > 65_535) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a listen address (write host:port, e.g. 127.0.0.1:9464 or [::1]:9464)` });
      return z.NEVER;
    }
    return { host: (match[1] ?? match[2])!, port };
  });

export const configSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: portSchema.default(8787),
  /**
   * The URL the WordPress sites reach this service at (through the TLS proxy, say):
   * `site add` prints it as EDGEJAIL_URL. Defaults to the listener's own address.
   */
  public_url: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL, e.g. https://edgejail.example.com' }).optional(),
  data_dir: z.string().min(1).default('./data'),
  /** Defaults to <data_dir>/edgejail.db. */
  database: z.string().min(1).optional(),
  /** Bearer token for the admin API; generated into <data_dir>/admin-token when absent. */
  admin_token: z.string().min(24, 'must be at least 24 characters').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII, with no white space').optional(),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How far a signed request's timestamp may be from our clock. */
  signature_max_skew: durationSchema.default(300),
  /** IPv6 addresses are counted and banned by this prefix: one host usually owns a whole /64. */
  ipv6_prefix: z.union([z.literal(32), z.literal(48), z.literal(64), z.literal(128)], { message: 'must be 32, 48, 64 or 128 (the prefixes Cloudflare can block)' }).default(64),
  allowlist: z.array(cidrSchema).default([]),
  /** How long a manual ban lasts when none is given: the dashboard's form, POST /v1/bans and `edgejail ban`. */
  manual_ban_duration: durationSchema.refine((s) => s > 0, 'must be longer than 0 s').prefault('1h'),
  /** How long a site user's self-unlock allowlists the address the link was opened from. */
  unlock_ttl: durationSchema.refine((s) => s > 0, 'must be longer than 0 s').prefault('24h'),
  /**
   * Reverse proxies whose X-Forwarded-For is believed for the client's address: the key of
   * the per-client limits (ingest slots, sign-in throttle). The attacker's address in an
   * event never comes from here, only from the signed event.
   */
  trusted_proxies: z.array(cidrSchema).default([]),
  /** Bound how long a client may take to send a request, so slow senders cannot hold slots. */
  timeouts: z
    .strictObject({
      request: timeoutSchema.prefault('10s'),
      headers: timeoutSchema.prefault('5s'),
      keep_alive: timeoutSchema.prefault('5s'),
      idle: timeoutSchema.prefault('30s'),
    })
    .refine((t) => t.headers <= t.request, { message: 'headers must not be longer than request', path: ['headers'] })
    .prefault({}),
  /**
   * Where the dashboard and admin API listen. Unset port: beside ingest while \`host\` is
   * loopback, else on their own listener at admin.host:8788, so exposing ingest to the
   * sites never exposes the admin side.
   */
  admin: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: portSchema.optional(),
    })
    .prefault({}),
  /** /metrics: on its own listener (no token; firewall it), or beside ingest behind a bearer token. */
  metrics: z
    .strictObject({
      listen: listenSchema.optional(),
      /** A token Prometheus sends instead of the admin token (bearer_token_file). */
      token_file: z.string().min(1).optional(),
    })
    .prefault({}),
  /**
   * The service's own TLS: PEM files used by every listener (ingest, admin, metrics). Unset:
   * plain HTTP, for loopback or behind a TLS-terminating reverse proxy.
   */
  tls: z
    .strictObject({
      cert: z.string().min(1, 'must be the path of a PEM certificate (chain) file'),
      key: z.string().min(1, 'must be the path of a PEM private key file'),
    })
    .optional(),
  jails: jailsConfigSchema,
  retention: z
    .strictObject({
      events: durationSchema.prefault('30d'),
      purge_interval: durationSchema.prefault('1h'),
    })
    .prefault({}),
  /** Shedding limits: a flood must be answered with 429/503, never grow the process until the OOM killer calls. */
  overload: z
    .strictObject({
      max_inflight_ingest: z.number().int().min(1).default(64),
      /** Of those, how many one client address may hold (behind a proxy: see trusted_proxies). */
      max_inflight_ingest_per_peer: z.number().int().min(1).default(8),
      /**
       * How long an event batch may wait behind others in one turn of the event loop before
       * it is refused with 429 (Retry-After: 1). Under the plugin's 1 s timeout, and over
       * what 16 batches of 50 at full speed take, so saturation alone sheds nothing.
       */
      max_queue_delay_ms: z.number().int().min(5).default(100),
      max_event_loop_delay_ms: z.number().int().min(10).default(500),
      max_rss_mb: z.number().int().min(32).default(400),
      /**
       * IPs (or IPv6 prefixes) each jail keeps a window for; past it the least recently
       * seen is forgotten. About 120 bytes each with its entries (bench jail_window_bytes_per_key):
       * 200,000 is ~24 MB per busy jail.
       */
      max_tracked_keys_per_jail: z.number().int().min(1_000).default(200_000),
      /**
       * Active bans in all; past it new jail bans are refused (audited, counted in
       * edgejail_bans_refused_total), so a flood cannot grow state without bound.
       * Manual bans are an admin's decision and still go through.
       */
      max_active_bans: z.number().int().min(100).default(200_000),
      /** New jail bans one site's events may cause per minute; the rest are refused, other sites unaffected. */
      max_new_bans_per_site_per_minute: z.number().int().min(1).default(2_000),
      retry_after_seconds: z.number().int().min(1).default(5),
    })
    .prefault({}),
  cloudflare: cloudflareConfigSchema,
  shield: shieldConfigSchema,
  notify: notifyConfigSchema,
  /** Log files the service follows itself (`edgejail tail` inside the service). */
  tail: tailConfigSchema,
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
