// What each dashboard form may send: one schema per form. Admin inputs reuse the admin
// API's contract schemas so a ban from the page and a ban from the API mean the same.
import { z } from 'zod';
import { durationSchema } from '../config/duration.ts';

/** Every urlencoded field arrives as a string; repeated fields keep the last value. */
export function parseFormBody(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

const back = z.enum(['overview', 'ip']).catch('overview');
const ipKeyField = z.string().trim().min(1, 'is required').max(100);

// The CSRF field of every form is checked before its schema, by @fastify/csrf-protection (security.ts).
export const loginFormSchema = z.object({ token: z.string().max(1000).default('') });

export const unbanFormSchema = z.object({ ip_key: ipKeyField, back });

export const extendFormSchema = z.object({
  ip_key: ipKeyField,
  by: durationSchema.refine((s) => s > 0, 'must be longer than 0 s'),
  back,
});

export const banFormMetaSchema = z.object({ back });
// `unban` came from an older page's "also lift" box; allowlisting now always lifts.
export const allowlistFormMetaSchema = z.object({ unban: z.string().optional(), back });
export const shieldLowerFormSchema = z.object({ site: z.string().trim().min(1, 'is required').max(200) });
export const allowlistRemoveFormSchema = z.object({ cidr: z.string().trim().min(1, 'is required').max(100) });

/** Blank optional fields mean "use the default", as they would if the API caller left them out. */
export function withoutBlanks(fields: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== ''));
}
