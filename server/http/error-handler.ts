// One place turns every failure into {error, message}: 4xx for anything the client can
// fix, 5xx only for our own faults, and never an internal detail or a secret.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { HttpError } from './errors.ts';
import { listenerOf, servedBy, surfaceOf } from './listeners.ts';

const FASTIFY_CODES: Record<string, { status: number; error: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'payload_too_large', message: 'the body exceeds 256 KiB; send at most 500 events per request' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'unsupported_media_type', message: 'send the body as application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid_json', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'bad_content_length', message: 'Content-Length does not match the body' },
  FST_ERR_VALIDATION: { status: 400, error: 'invalid_request' },
};

/**
 * Errors Fastify meets before routing (a path that is not valid URL encoding, a bad
 * Content-Type header) answered in the same {error, message} shape as everything else.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, _request, res) => {
  const reply = res as unknown as FastifyReply;
  const code = (error as FastifyError).code;
  if (code === 'FST_ERR_BAD_URL') return reply.code(400).send({ error: 'bad_url', message: 'the path is not valid URL encoding (a stray "%"?)' });
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return reply.code(400).send({ error: 'param_too_long', message: 'a path parameter is longer than 100 characters' });
  if (code === 'FST_ERR_ASYNC_CONSTRAINT') return reply.code(500).send({ error: 'internal_error', message: 'the service failed to handle this request; it is logged' });
  return reply.code(400).send({ error: 'bad_request', message: error.message });
};

/** A registered route's URL as a matcher of concrete paths: `/v1/bans/:ip` matches `/v1/bans/x`. */
function routeMatcher(url: string): RegExp {
  const pattern = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`);
}

/**
 * Which methods each known path answers on the listener asked, so a wrong method gets 405
 * and Allow, not 404. A path this listener does not serve stays a plain 404: the ingest
 * address does not reveal the admin routes kept on their own listener.
 */
function methodIndex(app: FastifyInstance): (request: FastifyRequest, path: string) => string[] {
  const routes: Array<{ url: string; matcher: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ url: route.url, matcher: routeMatcher(route.url), methods: methods.map(String) });
  });
  return (request, path) => {
    const listener = listenerOf(request);
    const allowed = new Set<string>();
    for (const route of routes) {
      if (!route.matcher.test(path) || !servedBy(app.listenerPlan, listener, surfaceOf(route.url))) continue;
      for (const m of route.methods) allowed.add(m);
    }
    return [...allowed].sort();
  };
}

export function registerErrorHandler(app: FastifyInstance): void {
  // Registered before any route, so it sees every one.
  const methodsFor = methodIndex(app);
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.statusCode === 401) request.log.info({ code: error.code }, 'request refused by authentication');
      return reply.code(error.statusCode).headers(error.headers).send({ error: error.code, message: error.message });
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return reply.code(known.status).send({ error: known.error, message: known.message ?? error.message });
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      // Another connection (the checkpoint, a CLI command) held the write lock past
      // busy_timeout: nothing was written, so the client is told to send it again.
      request.log.warn('database busy past busy_timeout; answered 503');
      return reply.code(503).header('retry-after', '1').send({ error: 'database_busy', message: 'the database is busy; nothing was stored, send it again' });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: error.code?.toLowerCase() ?? 'bad_request', message: error.message });
    request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: 'internal_error', message: 'the service failed to handle this request; it is logged' });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = methodsFor(request, path);
    if (allowed.length) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ error: 'method_not_allowed', message: `${request.method} is not served on ${path}; use ${allowed.join(', ')}` });
    }
    return reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${path}` });
  });
}
