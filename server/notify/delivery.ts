// One bounded queue per channel, drained by its own loop: a slow or dead channel holds up
// only itself, never ingest nor the other channels. Failures are retried with exponential
// backoff (and the server's Retry-After); past the last attempt the message is given up and
// said so in the audit log. A full queue drops its oldest message, also audited.
import type { NotifyMessage } from './message.ts';
import { DeliveryError, scrub, type Channel } from './channels/channel.ts';

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseMs: 2_000, maxMs: 300_000 };
export const DEFAULT_QUEUE_LIMIT = 20;

export interface DeliveryOutcome {
  channel: Channel;
  message: NotifyMessage;
  status: 'sent' | 'failed' | 'dropped';
  attempts: number;
  /** Already scrubbed of the channel's secrets. */
  error: string | null;
}

export interface DeliveryQueue {
  channel: Channel;
  enqueue(message: NotifyMessage): void;
  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void>;
  pending(): number;
  stop(graceMs: number): Promise<void>;
}

interface Logger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export function createDeliveryQueue(
  channel: Channel,
  options: { retry: RetryPolicy; limit: number; logger: Logger; onOutcome: (outcome: DeliveryOutcome) => void },
): DeliveryQueue {
  const { retry, limit, logger, onOutcome } = options;
  const queue: NotifyMessage[] = [];
  const stopper = new AbortController();
  let running: Promise<void> | null = null;
  let busy = false;
  let idleWaiters: Array<() => void> = [];

  const settleIdle = () => {
    if (queue.length || busy) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    waiters.forEach((resolve) => resolve());
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopper.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopper.signal.removeEventListener('abort', done);
        resolve();
      }
      stopper.signal.addEventListener('abort', done, { once: true });
    });

  async function deliver(message: NotifyMessage): Promise<void> {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        await channel.send(message, stopper.signal);
        onOutcome({ channel, message, status: 'sent', attempts: attempt, error: null });
        return;
      } catch (error) {
        const text = scrub(error instanceof Error ? error.message : String(error), channel.redactions);
        const retryable = error instanceof DeliveryError ? error.retryable : true;
        if (!retryable || attempt >= retry.attempts || stopper.signal.aborted) {
          logger.warn({ channel: channel.name, message: message.id, attempts: attempt, err: text }, 'notification not delivered; giving up');
          onOutcome({ channel, message, status: 'failed', attempts: attempt, error: stopper.signal.aborted ? `service stopping: ${text}` : text });
          return;
        }
        const backoff = Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.25);
        const waitMs = Math.min(retry.maxMs, Math.max(backoff, error instanceof DeliveryError ? (error.retryAfterMs ?? 0) : 0));
        logger.warn({ channel: channel.name, message: message.id, attempt, retryInMs: Math.round(waitMs), err: text }, 'notification delivery failed; will retry');
        await pause(waitMs);
      }
    }
  }

  async function drain(): Promise<void> {
    while (queue.length && !stopper.signal.aborted) {
      busy = true;
      const message = queue.shift()!;
      try {
        await deliver(message);
      } finally {
        busy = false;
      }
    }
    running = null;
    settleIdle();
  }

  return {
    channel,
    enqueue(message) {
      if (stopper.signal.aborted) {
        onOutcome({ channel, message, status: 'failed', attempts: 0, error: 'service stopping' });
        return;
      }
      queue.push(message);
      while (queue.length > limit) {
        const dropped = queue.shift()!;
        logger.warn({ channel: channel.name, message: dropped.id, limit }, 'notification queue full; dropped its oldest message');
        onOutcome({ channel, message: dropped, status: 'dropped', attempts: 0, error: `queue full (${limit} messages waiting)` });
      }
      running ??= drain();
    },
    idle: () => (queue.length || busy ? new Promise<void>((resolve) => idleWaiters.push(resolve)) : Promise.resolve()),
    pending: () => queue.length + (busy ? 1 : 0),
    async stop(graceMs) {
      const settled = running ?? Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      stopper.abort();
      // A send that ignores the abort (an SMTP dialogue) gets one more grace, then is left behind.
      await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const message of queue.splice(0)) onOutcome({ channel, message, status: 'failed', attempts: 0, error: 'service stopping' });
      channel.close();
      settleIdle();
    },
  };
}
