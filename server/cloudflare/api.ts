// Every call to Cloudflare goes through here: the client-side rate limiter first, then
// the SDK (its own retries off, a short timeout), then a row in cloudflare_actions.
// A 2xx whose envelope says `success: false` is a failure: the SDK does not look.
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import type { Cloudflare } from 'cloudflare';
import type { CloudflareConfig } from './config.ts';
import { RateLimiter, StoppedError } from './rate-limiter.ts';
import type { EnforcementStore } from '../store/enforcement.ts';

// The SDK is loaded only when a token is set: it adds ~50 MB of resident memory, which a
// dry-run service (the zero-config default) has no use for. Client and error classes come
// from the same (CommonJS) build, so `instanceof` on its errors holds.
const requireSdk = createRequire(import.meta.url);
type Sdk = typeof import('cloudflare');
type SdkErrors = typeof import('cloudflare/error');
let sdk: Sdk | undefined;
const loadSdk = (): Sdk => (sdk ??= requireSdk('cloudflare') as Sdk);
const { APIConnectionTimeoutError, APIError, APIUserAbortError } = requireSdk('cloudflare/error') as SdkErrors;

export type FailureKind = 'rate_limited' | 'server' | 'network' | 'timeout' | 'rejected' | 'not_found' | 'envelope' | 'stopped';

/** A Cloudflare call that did not do what we asked. `retryable` failures go back to the outbox. */
export class CloudflareCallError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status: number | null = null,
    readonly codes: number[] = [],
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'CloudflareCallError';
  }

  get retryable(): boolean {
    // Only a refusal of the request itself (400/403/...) is worth a person's look; even
    // those are retried with backoff: a permission fixed in the dashboard must take effect.
    return this.kind !== 'stopped';
  }

  hasCode(code: number): boolean {
    return this.codes.includes(code);
  }
}

export interface CallContext {
  operation: string;
  target?: string;
  ipKey?: string | null;
  banId?: number | null;
  batchId?: number | null;
}

interface Observation {
  status: number | null;
  envelopeSuccess: boolean | undefined;
  codes: number[];
}

// Cloudflare's Retry-After can be up to 5 minutes; anything far beyond is a bad header.
const MAX_RETRY_AFTER_MS = 10 * 60_000;
const WINDOW_SKEW_MS = 1_000;
// A 429 without Retry-After (Cloudflare sends one for its global limit; a list write
// refused while another is pending may not): a short pause, then the outbox retries.
const DEFAULT_RATE_LIMIT_PAUSE_MS = 5_000;

export interface CloudflareApi {
  client: Cloudflare;
  limiter: RateLimiter;
  /** Runs one SDK call that makes exactly one HTTP request. */
  call<T>(context: CallContext, request: (options: { signal: AbortSignal; timeout: number; maxRetries: number }) => PromiseLike<T>): Promise<T>;
  /** HTTP requests actually sent. */
  requestCount(): number;
  abortInFlight(): void;
}

export function createCloudflareApi(options: {
  config: CloudflareConfig;
  store: EnforcementStore;
  now: () => number;
  stopSignal: AbortSignal;
}): CloudflareApi {
  const { config, store, now, stopSignal } = options;
  if (!config.api_token) throw new Error('createCloudflareApi needs an API token; without one the enforcer runs dry');
  const observations = new AsyncLocalStorage<Observation>();
  let requests = 0;
  const inFlight = new Set<AbortController>();

  const observingFetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    requests++;
    const observation = observations.getStore();
    if (observation) observation.status = response.status;
    if (!response.ok || !observation || !(response.headers.get('content-type') ?? '').includes('json')) return response;
    // Read the envelope ourselves; hand the SDK an identical response.
    const text = await response.text();
    try {
      const body = JSON.parse(text) as { success?: unknown; errors?: Array<{ code?: unknown }> };
      if (typeof body.success === 'boolean') observation.envelopeSuccess = body.success;
      observation.codes = (body.errors ?? []).map((e) => Number(e.code)).filter(Number.isFinite);
    } catch {
      observation.envelopeSuccess = false;
    }
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };

  const client = new (loadSdk().Cloudflare)({
    apiToken: config.api_token,
    // Only these credentials: an API key or email in the environment must not be mixed in.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: config.base_url ?? 'https://api.cloudflare.com/client/v4',
    timeout: config.sdk.timeout_ms,
    maxRetries: config.sdk.max_retries,
    fetch: observingFetch,
    logLevel: 'off',
  });

  const limiter = new RateLimiter([
    // Counted over a slightly longer window than Cloudflare's: our requests reach it a little
    // after we count them, and a burst at the window's edge must not land inside its next window.
    { limit: config.rate_limit.requests * (1 - config.rate_limit.safety_margin), windowMs: config.rate_limit.per_seconds * 1000 + WINDOW_SKEW_MS },
    { limit: config.rate_limit.max_per_second, windowMs: 1000 },
  ]);

  async function call<T>(
    context: CallContext,
    request: (options: { signal: AbortSignal; timeout: number; maxRetries: number }) => PromiseLike<T>,
  ): Promise<T> {
    if (stopSignal.aborted) throw new CloudflareCallError('stopped', 'enforcer stopped');
    try {
      await limiter.acquire(stopSignal);
    } catch (error) {
      if (error instanceof StoppedError) throw new CloudflareCallError('stopped', 'enforcer stopped');
      throw error;
    }
    const controller = new AbortController();
    inFlight.add(controller);
    const observation: Observation = { status: null, envelopeSuccess: undefined, codes: [] };
    const at = new Date(now()).toISOString();
    const started = performance.now();
    const record = (outcome: 'ok' | 'error', failure?: CloudflareCallError) =>
      store.recordAction({
        at,
        ip_key: context.ipKey ?? null,
        ban_id: context.banId ?? null,
        operation: context.operation,
        target: context.target ?? null,
        outcome,
        http_status: failure?.status ?? observation.status,
        cf_error_codes: failure?.codes ?? observation.codes,
        error: failure ? `${failure.kind}: ${failure.message}` : null,
        duration_ms: Math.round(performance.now() - started),
        batch_id: context.batchId ?? null,
      });
    try {
      const result = await observations.run(observation, () =>
        request({ signal: controller.signal, timeout: config.sdk.timeout_ms, maxRetries: config.sdk.max_retries }),
      );
      if (observation.envelopeSuccess === false) {
        throw new CloudflareCallError('envelope', `HTTP ${observation.status} with success:false`, observation.status, observation.codes);
      }
      record('ok');
      return result;
    } catch (error) {
      const failure = classify(error, observation);
      if (failure.kind === 'rate_limited') limiter.pauseFor(failure.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS);
      record('error', failure);
      throw failure;
    } finally {
      inFlight.delete(controller);
    }
  }

  return {
    client,
    limiter,
    call,
    requestCount: () => requests,
    abortInFlight: () => inFlight.forEach((c) => c.abort()),
  };
}

function retryAfterMs(headers: Headers | undefined): number | null {
  const value = headers?.get('retry-after');
  if (!value) return null;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

function classify(error: unknown, observation: Observation): CloudflareCallError {
  if (error instanceof CloudflareCallError) return error;
  if (error instanceof APIUserAbortError) return new CloudflareCallError('stopped', 'call aborted at shutdown', observation.status);
  if (error instanceof APIConnectionTimeoutError) return new CloudflareCallError('timeout', 'request timed out', observation.status);
  if (error instanceof APIError) {
    const codes = (error.errors ?? []).map((e) => Number(e.code)).filter(Number.isFinite);
    const status = error.status ?? null;
    const message = (error.errors ?? []).map((e) => `${e.code} ${e.message}`).join('; ') || error.message;
    if (status === undefined || status === null) return new CloudflareCallError('network', error.message);
    if (status === 429) return new CloudflareCallError('rate_limited', message, status, codes, retryAfterMs(error.headers));
    if (status === 404) return new CloudflareCallError('not_found', message, status, codes);
    if (status >= 500 || status === 408 || status === 409) return new CloudflareCallError('server', message, status, codes);
    return new CloudflareCallError('rejected', message, status, codes);
  }
  return new CloudflareCallError('network', error instanceof Error ? error.message : String(error), observation.status);
}
