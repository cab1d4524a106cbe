// One place turns every failure into {error, message}: 4xx for anything the client can
// fix, 5xx only for our own faults, and never an internal detail or a secret.
import type { FastifyError, FastifyInstance } from 'fastify';
import { HttpError } from './errors.ts';

const FASTIFY_CODES: Record<string, { status: number; error: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'payload_too_large', message: 'the body exceeds 256 KiB; send at most 500 events per request' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'unsupported_media_type', message: 'send the body as application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid_json', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'bad_content_length', message: 'Content-Length does not match the body' },
  FST_ERR_VALIDATION: { status: 400, error: 'invalid_request' },
};

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.statusCode === 401) request.log.info({ code: error.code }, 'request refused by authentication');
      return reply.code(error.statusCode).headers(error.headers).send({ error: error.code, message: error.message });
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return reply.code(known.status).send({ error: known.error, message: known.message ?? error.message });
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: error.code?.toLowerCase() ?? 'bad_request', message: error.message });
    request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: 'internal_error', message: 'the service failed to handle this request; it is logged' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  );
}
