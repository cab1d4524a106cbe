// Payloads of the admin API: one schema each, the types come from them.
import { z } from 'zod';
import { durationSchema } from '../config/duration.ts';
import { normaliseIp, parseCidr } from '../jail/ip.ts';

export const manualBanSchema = z.strictObject({
  ip: z.string().refine((s) => normaliseIp(s) !== null, 'must be an IPv4 or IPv6 address'),
  duration: durationSchema.refine((s) => s > 0, 'must be longer than 0 s').default(3600),
  reason: z.string().trim().min(1).max(500).default('manual ban'),
});
export type ManualBan = z.infer<typeof manualBanSchema>;

export const allowlistEntrySchema = z.strictObject({
  cidr: z.string().refine((s) => parseCidr(s) !== null, 'must be an IP address or CIDR range'),
  note: z.string().max(500).nullish(),
  /** Needed for a range holding every address of its family (0.0.0.0/0, ::/0). */
  force: z.boolean().default(false),
});

export const banListQuerySchema = z.strictObject({
  state: z.enum(['active', 'all']).default('active'),
});
