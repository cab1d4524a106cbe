// Payloads of the login shield's admin API: one schema each, the types come from them.
import { z } from 'zod';
import { durationSchema } from '../config/duration.ts';

export const shieldUpSchema = z.strictObject({
  /** Defaults to the configured `shield.bantime`. */
  duration: durationSchema.refine((s) => s > 0, 'must be longer than 0 s').optional(),
  reason: z.string().trim().min(1).max(500).default('raised by hand'),
});
export type ShieldUp = z.infer<typeof shieldUpSchema>;

const isoTime = z.string().meta({ format: 'date-time', examples: ['2026-11-25T10:00:00.000Z'] });

export const shieldRowSchema = z.strictObject({
  id: z.number().int(),
  site_id: z.string(),
  state: z.enum(['up', 'down']),
  raised_at: isoTime,
  raised_by: z.string().meta({ description: "'shield:detector', 'admin:cli', 'admin:api'" }),
  reason: z.string().meta({ description: "In figures: \"312 failures from 211 IPs in 5m; 'admin' from 57 IPs\"" }),
  expires_at: isoTime,
  extended_at: isoTime.nullable(),
  lowered_at: isoTime.nullable(),
  lowered_by: z.string().nullable().meta({ description: "'expiry', 'admin:cli', 'admin:api'" }),
  lowered_reason: z.string().nullable(),
});

export const siteShieldSchema = z.strictObject({
  site_id: z.string(),
  name: z.string(),
  zone_id: z.string().nullable().meta({ description: "The site's Cloudflare zone, or CLOUDFLARE_ZONE_ID" }),
  hostname: z.string().nullable().meta({ description: 'Set with `site set --host`, or the host of the plugin’s site_url' }),
  enabled: z.boolean().meta({ description: '`shield.enabled`; by default true wherever the site has a zone' }),
  up: z.boolean(),
  since: isoTime.nullable(),
  until: isoTime.nullable(),
  reason: z.string().nullable(),
  raised_by: z.string().nullable(),
  failures: z.number().int().meta({ description: 'Failed logins counted in the current findtime window' }),
  ips: z.number().int().meta({ description: 'Distinct IP keys among them' }),
  top_username: z.strictObject({ username: z.string(), ips: z.number().int() }).nullable(),
});

export const shieldStatusResponseSchema = z.strictObject({ shields: z.array(siteShieldSchema) });
export const shieldUpResponseSchema = z.strictObject({
  shield: shieldRowSchema,
  extended: z.boolean().meta({ description: 'true when the shield was already up and was extended (status 200)' }),
});
export const shieldDownResponseSchema = z.strictObject({ shield: shieldRowSchema });
