// Shedding under a flood. The service exists to stop an OOM, so it answers 429/503 with
// Retry-After instead of queueing: ingest is capped by requests in flight (each holds at
// most one 256 KiB body) and by queueing delay, the process by event-loop delay and RSS.
//
// Queueing delay is refused at the door, from Little's law: a request admitted now waits
// for the ones in flight ahead of it, each taking the event loop's busy time per answered
// request (measured), so past max_queue_delay_ms it gets a 429 before its site is looked
// up or its body read. The group commit works in time slices, so Node reads sockets often
// and that 429 goes out within a slice; the plugin spools and retries, so nothing is lost.
// A second check, per turn, catches a turn that reads more bodies than its budget.
//
// The door is the server's request listener, in front of Fastify: a refusal there is a
// prepared answer, no routing, hooks or reply object. Under a flood of retries a turn
// reads as many refusals as there are clients waiting, so their cost sets how long each
// of them waits (shed answers' p99, bench: ~85 ms through Fastify's hooks, ~45 ms with the
// door and the shorter slice while shedding). Requests that come in any other way
// (app.inject) meet the same check in the onRequest hook.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import underPressure from '@fastify/under-pressure';
import { performance } from 'node:perf_hooks';
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

/** Busy time per answered request is sampled this often, and only while the loop is this busy. */
const SERVICE_SAMPLE_MS = 100;
const SATURATED_UTILIZATION = 0.5;

/**
 * The event loop's busy milliseconds per answered ingest request while it is saturated,
 * or 0 when it is not (then nothing waits long enough to refuse).
 */
function serviceTimeMeter() {
  let serviceMs = 0;
  let answered = 0;
  let answeredAtSample = 0;
  let sampledAt = performance.now();
  let loopAtSample = performance.eventLoopUtilization();
  return {
    answered(): void {
      answered++;
    },
    ms(now: number): number {
      if (now - sampledAt >= SERVICE_SAMPLE_MS) {
        const loop = performance.eventLoopUtilization();
        const { active, utilization } = performance.eventLoopUtilization(loop, loopAtSample);
        const n = answered - answeredAtSample;
        if (utilization < SATURATED_UTILIZATION) serviceMs = 0;
        // Smoothed from 0, over samples of several answers: a cold start's or a GC's lone slow
        // sample must not refuse a saturated but keeping-up load.
        else if (n >= 8) serviceMs = 0.7 * serviceMs + (0.3 * active) / n;
        loopAtSample = loop;
        answeredAtSample = answered;
        sampledAt = now;
      }
      return serviceMs;
    },
  };
}

/** Ingest is refused for saturation (in flight, queueing delay) this long after the last refusal: the loop is still busy. */
const SHEDDING_WINDOW_MS = 1000;

/** Every one is a 429: the client may retry, and the plugin's spool does. */
interface Refusal {
  reason: 'inflight' | 'queue_delay';
  retryAfterSeconds: number;
  message: string;
}

const QUEUE_DELAY_MESSAGE = 'the service is saturated (queueing delay over budget); retry after the Retry-After delay';

/**
 * What ingest admission knows before Fastify sees a request: the slots in flight and the
 * loop's service time. Built with the server, before the app that counts its refusals.
 * `clock` times the shedding window only.
 */
export function createIngestAdmission(limits: Config['overload'], clock: () => number = () => performance.now()) {
  const meter = serviceTimeMeter();
  let inFlight = 0;
  let refusedAt = -Infinity;
  let closing = false;
  const listeners: Array<(reason: string, atDoor: boolean) => void> = [];
  // A saturated queue drains in a turn or two: come back in a second, not retry_after_seconds.
  const queueDelay: Refusal = { reason: 'queue_delay', retryAfterSeconds: 1, message: QUEUE_DELAY_MESSAGE };
  const tooMany: Refusal = { reason: 'inflight', retryAfterSeconds: limits.retry_after_seconds, message: 'too many requests in flight; retry after the Retry-After delay' };
  const prepared = (refusal: Refusal) => {
    const body = JSON.stringify({ error: 'overloaded', message: refusal.message });
    return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'retry-after': String(refusal.retryAfterSeconds) } };
  };
  const answers = new Map([queueDelay, tooMany].map((r) => [r, prepared(r)]));

  const admission = {
    /** Why an ingest request arriving now is refused before its site is looked up or its body read, if it is. */
    saturated(): Refusal | undefined {
      if (inFlight >= limits.max_inflight_ingest) return tooMany;
      // The meter's own clock, real time: it samples the event loop's utilization.
      if (inFlight * meter.ms(performance.now()) > limits.max_queue_delay_ms) return queueDelay;
      return undefined;
    },
    /** Counts a refusal; `loopBusy` ones (not a slow peer's) shorten the group commit's slices. */
    refused(reason: string, loopBusy: boolean, atDoor = false): void {
      if (loopBusy) refusedAt = clock();
      for (const fn of listeners) fn(reason, atDoor);
    },
    /** True while refusals for saturation are recent: the group commit then cuts shorter slices. */
    shedding(): boolean {
      return clock() - refusedAt < SHEDDING_WINDOW_MS;
    },
    /** The server's request listener: answers a saturated ingest request itself and returns true. */
    door(req: IncomingMessage, res: ServerResponse): boolean {
      // Closing, Fastify answers 503 with Connection: close, which sends clients elsewhere.
      if (closing || req.method !== 'POST' || !isIngestPath(req.url)) return false;
      const refusal = admission.saturated();
      if (!refusal) return false;
      admission.refused(refusal.reason, true, true);
      const answer = answers.get(refusal)!;
      // The body the client is still sending is read and dropped by Node once this ends.
      res.writeHead(429, answer.headers).end(answer.body);
      return true;
    },
    /** `atDoor`: answered in the request listener, so no Fastify hook (onResponse) saw it. */
    onRefused(fn: (reason: string, atDoor: boolean) => void): void {
      listeners.push(fn);
    },
    close(): void {
      closing = true;
    },
    take(): void {
      inFlight++;
    },
    release(): void {
      inFlight--;
      meter.answered();
    },
    inFlight: () => inFlight,
  };
  return admission;
}

export type IngestAdmission = ReturnType<typeof createIngestAdmission>;

/**
 * The route's own URL, with or without a query. Other spellings the router also takes
 * (a fragment, percent-escapes, an absolute URL) meet the same check in onRequest.
 */
function isIngestPath(url: string | undefined): boolean {
  return url === '/v1/events' || (url !== undefined && url.startsWith('/v1/events?'));
}

/**
 * `claim` is what an ingest request must pass before it takes a slot (a known site, a
 * fresh timestamp); it runs after the door's own checks, which cost no lookup.
 */
export async function registerOverloadShedding(
  app: FastifyInstance,
  limits: Config['overload'],
  admission: IngestAdmission,
  onShed: (reason: string) => void,
  claim: (request: FastifyRequest) => void,
): Promise<void> {
  admission.onRefused(onShed);
  app.addHook('preClose', async () => admission.close());
  const perPeer = new Map<string, number>(); // ingest requests in flight per client address
  const release = (request: FastifyRequest) => {
    if (request.countedInFlight) {
      request.countedInFlight = false;
      admission.release();
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
  // Checked before the body is parsed (a shed batch should cost no parsing garbage: under a
  // flood of quick retries that garbage alone grew RSS by 120 MB), and again once it is in,
  // right before the work: a body that spans two reads is handled in a later turn.
  const checkQueue = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.countedInFlight || !overBudget()) return;
    admission.refused('queue_delay', true);
    return refuse(reply, 429, 1, QUEUE_DELAY_MESSAGE);
  };
  app.addHook('preParsing', checkQueue);
  app.addHook('preValidation', checkQueue);
  // Slots are taken only once the headers name a known site with a fresh timestamp
  // (`claim`), and each peer may hold only a few: a slow sender, known site id or not,
  // cannot starve the other sites (the request timeout ends it).
  app.addHook('onRequest', async (request, reply) => {
    if (!isIngestRequest(request)) return;
    const refusal = admission.saturated();
    if (refusal) {
      admission.refused(refusal.reason, true);
      return refuse(reply, 429, refusal.retryAfterSeconds, refusal.message);
    }
    claim(request);
    const peer = request.ip;
    const held = perPeer.get(peer) ?? 0;
    if (held >= limits.max_inflight_ingest_per_peer) {
      admission.refused('inflight_per_peer', false);
      return refuse(reply, 429, limits.retry_after_seconds, `this address already has ${held} requests in flight; retry after the Retry-After delay`);
    }
    perPeer.set(peer, held + 1);
    admission.take();
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
    admission.refused('eventLoopDelay', true);
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
  app.decorate('ingestInFlight', admission.inFlight);
  app.decorate('ingestAdmission', admission);
}

declare module 'fastify' {
  interface FastifyInstance {
    ingestInFlight: () => number;
    ingestAdmission: IngestAdmission;
  }
}
