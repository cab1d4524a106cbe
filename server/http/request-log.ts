// One access-log line per request, written when the answer is sent, in place of
// Fastify's two ("incoming request" and "request completed"). Load-balancer health
// checks and Prometheus scrapes, which come every few seconds, log at debug.
import type { FastifyInstance } from 'fastify';

const QUIET_PATHS = new Set(['/healthz', '/metrics']);

export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    const level = QUIET_PATHS.has(path) ? 'debug' : 'info';
    request.log[level]({ method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
}
