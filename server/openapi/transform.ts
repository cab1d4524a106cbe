// How the routes' schemas become the document: fastify-type-provider-zod turns their zod
// schemas into JSON Schema; these wrappers add what every route of a kind can answer
// besides its own outcomes, and drop what is noise in a document.
import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../auth/site-signature.ts';
import { surfaceOf } from '../http/listeners.ts';
import { failure, SITE_AUTH } from './describe.ts';

type Json = Record<string, unknown>;
type Response = { description: string; content?: Json; headers?: Json };

/** x-edgejail-site → X-EdgeJail-Site, as the README spells the headers. */
export function headerName(lower: string): string {
  return lower.split('-').map((part) => (part === 'edgejail' ? 'EdgeJail' : part.charAt(0).toUpperCase() + part.slice(1))).join('-');
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const isSigned = (schema: FastifySchema) => JSON.stringify(schema.security) === JSON.stringify(SITE_AUTH);

/**
 * The framework's refusals (bad URL encoding, body size and type, wrong method), the
 * listener gate and shedding: merged into each operation, so the document lists every
 * status a client can meet.
 */
function commonResponses(url: string, methods: string[]): Record<number, Response> {
  const common: Record<number, Response> = {
    405: failure('Another method is served on this path (`method_not_allowed`); the `Allow` header lists them'),
    503: failure('The service is under pressure (event-loop delay or memory; `overloaded`); retry after Retry-After'),
  };
  if (url.includes(':')) common[400] = failure('The path is not valid URL encoding (`bad_url`), or a parameter is over 100 characters (`param_too_long`)');
  // Fastify reads a body on these methods whatever the route expects: JSON only, 256 KiB at most.
  if (methods.some((m) => BODY_METHODS.has(m))) {
    const body = 'The body is not valid JSON (`invalid_json`) or its length is wrong (`bad_content_length`)';
    common[400] = failure(common[400] ? `${common[400].description}; or: ${body}` : body);
    common[413] = failure('The body exceeds 256 KiB (`payload_too_large`)');
    common[415] = failure('The body is not `application/json` (`unsupported_media_type`)');
  }
  if (surfaceOf(url) !== 'health') {
    common[404] = failure('Not served on this address: ingest, the admin API and /metrics can each have their own listener (`not_found`)');
  }
  return common;
}

function withCommonResponses(schema: FastifySchema, url: string, methods: string[]): Record<string, Response> {
  const merged = { ...(schema.response as Record<string, Response> | undefined) };
  for (const [status, extra] of Object.entries(commonResponses(url, methods))) {
    const own = merged[status];
    merged[status] = own ? { ...own, description: `${own.description}; or: ${extra.description}` } : extra;
  }
  return merged;
}

const header = (description: string, pattern?: string) => ({ description, type: 'string', ...(pattern && { pattern }) });

/** Headers an answer carries: the answer signature on the webhook, Allow on 405, Retry-After when shed. */
function responseHeaders(signed: boolean, status: number): Json | undefined {
  if (status === 405) return { Allow: header('The methods this path serves, e.g. `GET, HEAD`') };
  if (status === 429 || status === 503) return { 'Retry-After': header('Seconds to wait before retrying', '^\\d+$') };
  if (signed && (status < 300 || status === 400)) {
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

/**
 * One route's entry. A route without a schema is a page for people (the dashboard, /docs
 * and their assets) and stays out; the OpenAPI test demands a schema of every other route.
 */
export const transform: SwaggerTransform = (input) => {
  const { schema, url, route } = input;
  if (!schema) return { schema: { hide: true } as FastifySchema, url };
  const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
  const out = jsonSchemaTransform({ ...input, schema: { ...schema, response: withCommonResponses(schema, url, methods) } });
  const responses = (out.schema.response ?? {}) as Record<string, Response>;
  for (const [status, response] of Object.entries(responses)) {
    const headers = responseHeaders(isSigned(schema), Number(status));
    if (headers) response.headers = headers;
  }
  return out;
};

/** Drops the safe-integer bounds zod puts on every int: true of every JSON number a client sends. */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if ((k === 'minimum' && v === Number.MIN_SAFE_INTEGER) || (k === 'maximum' && v === Number.MAX_SAFE_INTEGER)) continue;
    out[k] = tidy(v);
  }
  return out;
}

const COMPONENT = '#/components/schemas/';

function refsIn(node: unknown, found: Set<string>): void {
  if (Array.isArray(node)) return node.forEach((n) => refsIn(n, found));
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith(COMPONENT)) found.add(v.slice(COMPONENT.length));
    else refsIn(v, found);
  }
}

/**
 * The whole document. The type provider publishes every named schema twice, from zod's
 * input and output sides; only the twins some operation uses (directly or through another
 * component) are kept.
 */
export const transformObject: SwaggerTransformObject = (input) => {
  const doc = tidy(jsonSchemaTransformObject(input)) as { paths?: Json; components?: { schemas?: Record<string, unknown> } };
  const all = doc.components?.schemas ?? {};
  const used = new Set<string>();
  refsIn(doc.paths, used);
  for (let before = -1; before !== used.size; ) {
    before = used.size;
    for (const name of [...used]) refsIn(all[name], used);
  }
  const kept = Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
  return { ...doc, components: { ...doc.components, schemas: kept } } as ReturnType<SwaggerTransformObject>;
};
