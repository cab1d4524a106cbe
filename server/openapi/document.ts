// The OpenAPI 3.1 document, generated from the route table and the zod schemas with
// zod's own JSON Schema output (3.1 uses JSON Schema 2020-12 as is).
import { z } from 'zod';
import { SIGNATURE_HEADER, SITE_HEADER, TIMESTAMP_HEADER } from '../auth/site-signature.ts';
import { CIDR_TEXT, IP_TEXT } from '../contract/admin.ts';
import * as R from './schemas.ts';
import { REQUEST_COMPONENTS, RESPONSE_COMPONENTS, ROUTE_DOCS, type ResponseDoc, type RouteDoc } from './routes.ts';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** `/v1/bans/:ip` → `/v1/bans/{ip}` */
export const openApiPath = (fastifyPath: string) => fastifyPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Drops what is noise in a document: per-schema $schema/$id, and the safe-integer bounds zod puts on every int. */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if (k === '$schema' || k === '$id') continue;
    if ((k === 'minimum' && v === Number.MIN_SAFE_INTEGER) || (k === 'maximum' && v === Number.MAX_SAFE_INTEGER)) continue;
    out[k] = tidy(v);
  }
  return out;
}

function components(list: ReadonlyArray<[string, z.ZodType]>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of list) registry.add(schema, { id });
  // Transforms (durations: "1h" → 3600) have no JSON Schema; their input side is documented instead.
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io, unrepresentable: 'any' });
  return tidy(schemas) as Record<string, Json>;
}

function nameOf(list: ReadonlyArray<[string, z.ZodType]>, schema: z.ZodType, where: string): string {
  const found = list.find(([, s]) => s === schema);
  if (!found) throw new Error(`OpenAPI: the schema of ${where} is not in the components list (server/openapi/routes.ts)`);
  return found[0];
}

function security(auth: RouteDoc['auth']) {
  if (auth === 'admin') return [{ adminToken: [] }];
  if (auth === 'site') return [{ siteId: [], siteTimestamp: [], siteSignature: [] }];
  return [];
}

/** Path parameters with a known shape: their format and bounds (longer or other text is a 400/404). */
const PARAM_SCHEMAS: Record<string, Json> = {
  ip: { type: 'string', minLength: 2, maxLength: IP_TEXT.maxLength + 4, pattern: CIDR_TEXT.pattern.source, examples: ['203.0.113.7', '2001:db8:1:2::/64'] },
  cidr: { type: 'string', minLength: 2, maxLength: CIDR_TEXT.maxLength, pattern: CIDR_TEXT.pattern.source, examples: ['192.0.2.0/24', '2001:db8::/48'] },
  site: { type: 'string', minLength: 1, maxLength: 100 },
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const errorDoc = (description: string): ResponseDoc => ({ description, schema: R.errorResponseSchema });

/**
 * What every route of a kind can answer besides its own outcomes: the framework's refusals
 * (bad URL encoding, body size and type, wrong method), the listener gate and shedding.
 * Merged into each operation, so the document lists every status a client can meet.
 */
function commonResponses(route: RouteDoc): Record<number, ResponseDoc> {
  const common: Record<number, ResponseDoc> = {
    405: errorDoc('Another method is served on this path (`method_not_allowed`); the `Allow` header lists them'),
    503: errorDoc('The service is under pressure (event-loop delay or memory; `overloaded`); retry after Retry-After'),
  };
  if (route.params) common[400] = errorDoc('The path is not valid URL encoding (`bad_url`), or a parameter is over 100 characters (`param_too_long`)');
  // Fastify reads a body on these methods whatever the route expects: JSON only, 256 KiB at most.
  if (BODY_METHODS.has(route.method)) {
    common[400] = errorDoc('The body is not valid JSON (`invalid_json`) or its length is wrong (`bad_content_length`)');
    common[413] = errorDoc('The body exceeds 256 KiB (`payload_too_large`)');
    common[415] = errorDoc('The body is not `application/json` (`unsupported_media_type`)');
  }
  if (route.auth === 'admin' || route.path === '/metrics') {
    common[404] = errorDoc('Not served on this address: the admin API (or /metrics) has its own listener (`not_found`)');
  }
  return common;
}

function mergedResponses(route: RouteDoc): Record<string, ResponseDoc> {
  const merged: Record<string, ResponseDoc> = { ...route.responses };
  for (const [status, extra] of Object.entries(commonResponses(route))) {
    const own = merged[status];
    merged[status] = own ? { ...own, description: `${own.description}; or: ${extra.description}` } : extra;
  }
  return merged;
}

const header = (description: string, pattern?: string) => ({ description, schema: { type: 'string', ...(pattern && { pattern }) } });

/** Headers an answer carries: the answer signature on the webhook, Allow on 405, Retry-After when shed. */
function responseHeaders(route: RouteDoc, status: number): Json | undefined {
  if (status === 405) return { Allow: header('The methods this path serves, e.g. `GET, HEAD`') };
  if (status === 429 || status === 503) return { 'Retry-After': header('Seconds to wait before retrying', '^\\d+$') };
  if (route.auth === 'site' && (status < 300 || status === 400)) {
    return {
      [headerName(TIMESTAMP_HEADER)]: header("Unix seconds, the service's clock", '^\\d+$'),
      [headerName(SIGNATURE_HEADER)]: header(
        '`sha256=` + lowercase hex HMAC-SHA256(site secret, timestamp + "." + the 64 hex digits of the request\'s X-EdgeJail-Signature + "." + raw body). The plugin ignores a 2xx answer without a valid one.',
        '^sha256=[0-9a-f]{64}$',
      ),
    };
  }
  return undefined;
}

function operation(route: RouteDoc): Json {
  const where = `${route.method} ${route.path}`;
  const parameters: Json[] = [];
  for (const [name, description] of Object.entries(route.params ?? {})) {
    parameters.push({ name, in: 'path', required: true, description, schema: PARAM_SCHEMAS[name] ?? { type: 'string', minLength: 1 } });
  }
  if (route.query) {
    const schema = tidy(z.toJSONSchema(route.query, { io: 'input' })) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property });
    }
  }
  const responses: Json = {};
  for (const [status, response] of Object.entries(mergedResponses(route))) {
    const content = response.schema
      ? { [response.contentType ?? 'application/json']: { schema: ref(nameOf(RESPONSE_COMPONENTS, response.schema, `${where} → ${status}`)) } }
      : response.contentType
        ? { [response.contentType]: {} }
        : undefined;
    const headers = responseHeaders(route, Number(status));
    responses[status] = { description: response.description, ...(content && { content }), ...(headers && { headers }) };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: security(route.auth),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: ref(nameOf(REQUEST_COMPONENTS, route.body, `${where} body`)) } } } }
      : {}),
    responses,
  };
}

export function buildOpenApiDocument(options: { version: string }): Json {
  const paths: Record<string, Json> = {};
  for (const route of ROUTE_DOCS) {
    const path = openApiPath(route.path);
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operation(route) };
  }
  const requestSchemas = components(REQUEST_COMPONENTS, 'input');
  const responseSchemas = components(RESPONSE_COMPONENTS, 'output');
  for (const name of Object.keys(requestSchemas)) {
    if (name in responseSchemas) throw new Error(`OpenAPI: component ${name} is both a request and a response schema`);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'EdgeJail',
      version: options.version,
      summary: 'Brute-force defence for WordPress behind Cloudflare',
      description:
        'Sites report failed logins as signed events (`/v1/events`); jails turn them into bans enforced at Cloudflare. The admin API manages bans and the allowlist with a bearer token. Durations are seconds or `90s`, `10m`, `1h`, `7d`, `2w`.',
      license: { name: 'GPL-2.0-or-later', identifier: 'GPL-2.0-or-later' },
    },
    tags: [
      { name: 'Webhook', description: 'Called by the WordPress plugin, signed with the site secret' },
      { name: 'Admin', description: 'Bearer token: EDGEJAIL_ADMIN_TOKEN, or the file admin-token in the data directory' },
      { name: 'Operations', description: 'No authentication' },
    ],
    paths,
    components: {
      schemas: { ...requestSchemas, ...responseSchemas },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token' },
        siteId: { type: 'apiKey', in: 'header', name: headerName(SITE_HEADER), description: 'The site id' },
        siteTimestamp: { type: 'apiKey', in: 'header', name: headerName(TIMESTAMP_HEADER), description: 'Unix seconds; within 300 s of the service clock' },
        siteSignature: {
          type: 'apiKey',
          in: 'header',
          name: headerName(SIGNATURE_HEADER),
          description: '`sha256=` + lowercase hex HMAC-SHA256(site secret, timestamp + "." + raw body)',
        },
      },
    },
  };
}

/** x-edgejail-site → X-EdgeJail-Site, as the README spells the headers. */
function headerName(lower: string): string {
  return lower.split('-').map((part) => (part === 'edgejail' ? 'EdgeJail' : part.charAt(0).toUpperCase() + part.slice(1))).join('-');
}
