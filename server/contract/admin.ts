// Payloads of the admin API: one schema each, the types come from them.
import { z } from 'zod';
import { banDurationSchema } from '../config/duration.ts';
import { normaliseIp, parseCidr } from '../jail/ip.ts';

/** The characters and length an address or range can have; the refinements decide the rest. Also the OpenAPI bounds. */
export const IP_TEXT = { pattern: /^[0-9A-Fa-f:.]+$/, maxLength: 64 } as const;
export const CIDR_TEXT = { pattern: /^[0-9A-Fa-f:.]+(\/[0-9]{1,3})?$/, maxLength: 64 } as const;

/** fail2ban's jail names (sshd, wordpress-hard, nginx-http-auth, apache-auth.local), under the tool's prefix. */
export const EXTERNAL_JAIL_RE = /^fail2ban:[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
export const externalJailSchema = z
  .string()
  .max(73, { abort: true })
  .regex(EXTERNAL_JAIL_RE, 'must be "fail2ban:<jail name>" (letters, digits, _ . @ -)')
  .meta({ description: 'fail2ban:<jail name>, for a ban a fail2ban jail decided' });

export const manualBanSchema = z.strictObject({
  ip: z.string().max(IP_TEXT.maxLength, { abort: true }).regex(IP_TEXT.pattern, { message: 'must be an IPv4 or IPv6 address', abort: true }).refine((s) => normaliseIp(s) !== null, 'must be an IPv4 or IPv6 address'),
  /** Absent: the config's manual_ban_duration (1h unless set). */
  duration: banDurationSchema
    .refine((s) => s > 0, 'must be longer than 0 s')
    .optional()
    .meta({ description: "Seconds, or 90s, 10m, 1h, 7d, 2w; default: the service's manual_ban_duration (1h unless configured)" }),
  reason: z.string().trim().min(1).max(500).default('manual ban'),
  /** A ban another tool decided (fail2ban's action): kept apart from the manual ban and from that tool's other jails. */
  jail: externalJailSchema.optional(),
  /**
   * When the ban began (Unix seconds, fractions allowed): the ban ends at banned_at + duration. fail2ban re-sends
   * its live bans on every start with their first ban time, so a re-ban ends when the ban always would have.
   */
  banned_at: z
    .number()
    .positive()
    .optional()
    .meta({ description: 'Unix seconds the ban began (default: now); the ban ends duration after it. fail2ban passes <time>.' }),
  /**
   * Which offence of this IP the tool counts this ban as (fail2ban's <bancount>), kept with the
   * ban as an imported one is, so the IP's history says what the tool knew.
   */
  ban_count: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be 1 or more')
    .max(1_000_000, 'must be at most 1000000')
    .optional()
    .meta({ description: "The tool's offence number for this IP (fail2ban's <bancount>); only with jail. Default 1." }),
}).refine((b) => b.ban_count === undefined || b.jail !== undefined, { message: 'ban_count is the offence number another tool counted: send it with jail (fail2ban:<name>)', path: ['ban_count'] });
export type ManualBan = z.infer<typeof manualBanSchema>;

export const allowlistEntrySchema = z.strictObject({
  cidr: z.string().max(CIDR_TEXT.maxLength, { abort: true }).regex(CIDR_TEXT.pattern, { message: 'must be an IP address or CIDR range', abort: true }).refine((s) => parseCidr(s) !== null, 'must be an IP address or CIDR range'),
  note: z.string().max(500).nullish(),
  /** Needed for a range holding every address of its family (0.0.0.0/0, ::/0). */
  force: z.boolean().default(false),
});

export const banListQuerySchema = z.strictObject({
  state: z.enum(['active', 'all']).default('active'),
});

export const unbanQuerySchema = z.strictObject({
  /** Lifts only that jail's ban: one fail2ban jail's unban must not lift another's (or an admin's) ban on the IP. */
  jail: externalJailSchema.optional(),
});
