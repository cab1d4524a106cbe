// Shedding under a flood. The service exists to stop an OOM, so it answers 429/503 with
// Retry-After instead of queueing: ingest is capped by requests in flight (each holds at
// most one 256 KiB body) and by queueing delay, the process by event-loop delay and RSS.
//
// Why queueing delay: the ingest handler is synchronous, so requests in flight rarely
// pass one; a flood queues in the kernel's socket buffers instead, and Node then answers
// every readable socket one after another in a single turn of the event loop. The Nth
// request of a turn has waited for the N−1 before it. Past the budget, answering 429 costs
// microseconds and keeps the latency of the requests we do serve bounded; the plugin
// spools and retries, so nothing is lost. What waits in the kernel between turns is not
// seen here: at 10x the connections the bench still measures p99 above a second, though
// memory stays flat (TCP's own backpressure holds the rest outside the process).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Config } from '../config/schema.ts';

declare module 'fastify' {
  interface FastifyRequest {
    countedInFlight?: boolean;
  }
}

/** The signed webhook: the one route a flood hits, and the one shedding protects. */
export function isIngestRequest(request: FastifyRequest): boolean {
  return request.method === 'POST' && request.routeOptions.url === '/v1/events';
}

export async function registerOverloadShedding(
  app: FastifyInstance,
  limits: Config['overload'],
  onShed: (reason: string) => void,
): Promise<void> {
  let inFlight = 0;
  const perPeer = new Map<string, number>(); // ingest requests in flight per client address
  const release = (request: FastifyRequest) => {
    if (request.countedInFlight) {
      request.countedInFlight = false;
      inFlight--;
      const held = (perPeer.get(request.ip) ?? 1) - 1;
      if (held > 0) perPeer.set(request.ip, held);
      else perPeer.delete(request.ip);
    }
  };
  const refuse = (reply: FastifyReply, status: 429 | 503, retryAfterSeconds: number, message: string) =>
    reply.code(status).header('retry-after', String(retryAfterSeconds)).send({ error: 'overloaded', message });

  let turnStartedAt = 0;
  const endTurn = () => {
    turnStartedAt = 0;
  };
  /** True when this ingest request has waited past the budget in the current turn. */
  const overBudget = (): boolean => {
    const now = performance.now();
    if (turnStartedAt === 0) {
      turnStartedAt = now;
      setImmediate(endTurn); // the check phase: after every socket this turn found readable
      return false;
    }
    return now - turnStartedAt > limits.max_queue_delay_ms;
  };
  const shedQueued = (reply: FastifyReply) => {
    onShed('queue_delay');
    // A saturated queue drains in a turn or two: come back in a second, not retry_after_seconds.
    return refuse(reply, 429, 1, 'the service is saturated (queueing delay over budget); retry after the Retry-After delay');
  };
  // Checked before the body is parsed (a shed batch should cost no parsing garbage: under a
  // flood of quick retries that garbage alone grew RSS by 120 MB), and again once it is in,
  // right before the work: a body that spans two reads is handled in a later turn.
  const checkQueue = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.countedInFlight && overBudget()) return shedQueued(reply);
  };
  app.addHook('preParsing', checkQueue);
  app.addHook('preValidation', checkQueue);
  // Slots are taken only once the headers name a known site with a fresh timestamp (the
  // hook registered before this one), and each peer may hold only a few: a slow sender,
  // known site id or not, cannot starve the other sites (the request timeout ends it).
  app.addHook('onRequest', async (request, reply) => {
    if (!isIngestRequest(request)) return;
    if (inFlight >= limits.max_inflight_ingest) {
      onShed('inflight');
      return refuse(reply, 429, limits.retry_after_seconds, 'too many requests in flight; retry after the Retry-After delay');
    }
    const peer = request.ip;
    const held = perPeer.get(peer) ?? 0;
    if (held >= limits.max_inflight_ingest_per_peer) {
      onShed('inflight_per_peer');
      return refuse(reply, 429, limits.retry_after_seconds, `this address already has ${held} requests in flight; retry after the Retry-After delay`);
    }
    perPeer.set(peer, held + 1);
    inFlight++;
    request.countedInFlight = true;
  });
  app.addHook('onResponse', async (request) => release(request));
  app.addHook('onRequestAbort', async (request) => release(request));

  // Event-loop delay comes from under-pressure's own histogram (its memoryUsage()), but the
  // decision is ours: under-pressure reads a sample interval with no sample in it (a loop
  // blocked for that whole second, a cold start on a loaded host) as an infinite delay, and
  // shed every request for the next second whatever the limit. For such an interval the
  // delay is how late a once-a-second timer of our own ran.
  const SAMPLE_MS = 1000;
  let lateMs = 0;
  let tickedAt = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    lateMs = Math.max(0, now - tickedAt - SAMPLE_MS);
    tickedAt = now;
  }, SAMPLE_MS);
  ticker.unref();
  app.addHook('onClose', async () => clearInterval(ticker));
  app.addHook('onRequest', async (_request, reply) => {
    const { eventLoopDelay } = app.memoryUsage();
    if ((Number.isFinite(eventLoopDelay) ? eventLoopDelay : lateMs) <= limits.max_event_loop_delay_ms) return;
    onShed('eventLoopDelay');
    return refuse(reply, 503, limits.retry_after_seconds, 'the service is under pressure (eventLoopDelay); retry after the Retry-After delay');
  });

  await app.register(underPressure, {
    maxRssBytes: limits.max_rss_mb * 1024 * 1024,
    retryAfter: limits.retry_after_seconds,
    exposeStatusRoute: false,
    pressureHandler: (_request, reply, type) => {
      onShed(String(type));
      void refuse(reply, 503, limits.retry_after_seconds, `the service is under pressure (${String(type)}); retry after the Retry-After delay`);
    },
  });
  app.decorate('ingestInFlight', () => inFlight);
}

declare module 'fastify' {
  interface FastifyInstance {
    ingestInFlight: () => number;
  }
}
