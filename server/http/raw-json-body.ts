// JSON bodies are kept raw as well as parsed: the HMAC covers the exact bytes the site sent.
// JSON is the only body the API takes: Fastify's default text/plain parser is removed, so a
// text/plain POST is a 415 before any check of its signature (which would fail, over no raw
// body, with a misleading 401).
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

export function registerRawJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
}
