// The pieces the routes' own `schema` options are built of. A route's schema is what the
// OpenAPI document says about it; the handler parses with the same zod objects.
import { z } from 'zod';
import { CIDR_TEXT, IP_TEXT } from '../contract/admin.ts';
import { errorResponseSchema } from '../contract/events.ts';

export type Tag = 'Webhook' | 'Admin' | 'Operations';

/** Security requirements, by the names of the schemes in plugin.ts. */
export const ADMIN_AUTH = [{ adminToken: [] }];
export const SITE_AUTH = [{ siteId: [], siteTimestamp: [], siteSignature: [] }];
export const NO_AUTH: Array<Record<string, string[]>> = [];

/** One answer of a route: what it means, and the body it carries. */
export function answer(description: string, schema: z.ZodType, contentType = 'application/json') {
  return { description, content: { [contentType]: { schema } } };
}

/** A refusal: the `{error, message}` body every failure has. */
export const failure = (description: string) => answer(description, errorResponseSchema);

export const ADMIN_ERRORS = { 401: failure('Missing or wrong admin token (`missing_token`, `malformed_token`, `bad_token`)') };

/**
 * Path parameters with a known shape: their characters and bounds (other text is a 400 or
 * 404 from the handler, which parses them itself).
 */
export const ipParams = z.object({
  ip: z
    .string()
    .min(2)
    .max(IP_TEXT.maxLength + 4)
    .regex(CIDR_TEXT.pattern)
    .meta({
      description: 'An IPv4 or IPv6 address, or an IPv6 prefix as banned (URL-encoded, e.g. `2001%3Adb8%3A1%3A2%3A%3A%2F64`)',
      examples: ['203.0.113.7', '2001:db8:1:2::/64'],
    }),
});
export const cidrParams = z.object({
  cidr: z
    .string()
    .min(2)
    .max(CIDR_TEXT.maxLength)
    .regex(CIDR_TEXT.pattern)
    .meta({ description: 'The entry exactly as added, URL-encoded (`192.0.2.0%2F24`)', examples: ['192.0.2.0/24', '2001:db8::/48'] }),
});
export const siteParams = z.object({
  site: z.string().min(1).max(100).meta({ description: 'The site id, or its name when no other site has it' }),
});
