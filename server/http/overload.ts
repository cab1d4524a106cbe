// Shedding under a flood. The service exists to stop an OOM, so it answers 429/503 with
// Retry-After instead of queueing: ingest is capped by requests in flight (each holds at
// most one 256 KiB body), the process by event-loop delay and RSS.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Config } from '../config/schema.ts';

declare module 'fastify' {
  interface FastifyRequest {
    countedInFlight?: boolean;
  }
}

export async function registerOverloadShedding(
  app: FastifyInstance,
  limits: Config['overload'],
  onShed: (reason: string) => void,
): Promise<void> {
  let inFlight = 0;
  const release = (request: FastifyRequest) => {
    if (request.countedInFlight) {
      request.countedInFlight = false;
      inFlight--;
    }
  };
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST' || !request.url.startsWith('/v1/events')) return;
    if (inFlight >= limits.max_inflight_ingest) {
      onShed('inflight');
      return reply
        .code(429)
        .header('retry-after', String(limits.retry_after_seconds))
        .send({ error: 'overloaded', message: 'too many requests in flight; retry after the Retry-After delay' });
    }
    inFlight++;
    request.countedInFlight = true;
  });
  app.addHook('onResponse', async (request) => release(request));
  app.addHook('onRequestAbort', async (request) => release(request));

  await app.register(underPressure, {
    maxEventLoopDelay: limits.max_event_loop_delay_ms,
    maxRssBytes: limits.max_rss_mb * 1024 * 1024,
    retryAfter: limits.retry_after_seconds,
    exposeStatusRoute: false,
    pressureHandler: (_request, reply, type) => {
      onShed(String(type));
      void reply
        .code(503)
        .header('retry-after', String(limits.retry_after_seconds))
        .send({ error: 'overloaded', message: `the service is under pressure (${String(type)}); retry after the Retry-After delay` });
    },
  });
  app.decorate('ingestInFlight', () => inFlight);
}

declare module 'fastify' {
  interface FastifyInstance {
    ingestInFlight: () => number;
  }
}
