// The `shield` section of the configuration: when a site as a whole is under a distributed
// password-guessing attack, and what its login shield does at Cloudflare. Names and meaning
// follow fail2ban's jails, counted per site over all IPs instead of per IP.
import { z } from 'zod';
import { durationSchema } from '../config/duration.ts';
import { eventTypeSchema, type EventType } from '../contract/events.ts';

export const SHIELD_ACTIONS = ['managed_challenge', 'js_challenge', 'challenge', 'block'] as const;
export const SHIELD_XMLRPC_MODES = ['block', 'challenge', 'off'] as const;
/** Failed authentications: what the `wordpress` jail counts, summed over the site. */
export const SHIELD_EVENT_TYPES: EventType[] = ['login_failed', 'xmlrpc_login_failed', 'xmlrpc_multicall', 'app_password_failed', 'rest_auth_failed'];

export const shieldConfigSchema = z
  .strictObject({
    /** Default: on for every site that has a Cloudflare zone (its own, or CLOUDFLARE_ZONE_ID). */
    enabled: z.boolean().optional(),
    /** Failed attempts at the site (summed weight, all IPs) within findtime... */
    maxretry: z.number().int().min(1).default(100),
    findtime: durationSchema.default(300).refine((s) => s >= 10, 'must be at least 10s'),
    /** ...from at least this many distinct IP keys. */
    min_ips: z.number().int().min(1).default(20),
    /** Or: one username tried from at least this many IP keys within findtime. */
    username_min_ips: z.number().int().min(2).default(10),
    /** Up for this long after the attack was last seen. */
    bantime: durationSchema.default(1800).refine((s) => s >= 60, 'must be at least 1m'),
    /** What the login rule does to a POST /wp-login.php while the shield is up. */
    action: z.enum(SHIELD_ACTIONS).default('managed_challenge'),
    /** XML-RPC clients cannot solve a challenge: `challenge` uses `action`, `off` leaves XML-RPC alone. */
    xmlrpc: z.enum(SHIELD_XMLRPC_MODES).default('block'),
    event_types: z.array(eventTypeSchema).min(1).default(SHIELD_EVENT_TYPES),
  })
  .prefault({});

export type ShieldConfig = z.infer<typeof shieldConfigSchema>;
