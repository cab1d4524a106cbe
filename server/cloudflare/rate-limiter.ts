// Client-side limiter for Cloudflare's API: sliding windows over the requests we sent,
// plus a pause everyone honours after a 429. Going over Cloudflare's limit blocks every
// call for five minutes, unbans included, so we would rather wait here.
import { performance } from 'node:perf_hooks';

export interface RateWindow {
  limit: number;
  windowMs: number;
}

export class StoppedError extends Error {
  constructor() {
    super('enforcer stopped');
    this.name = 'StoppedError';
  }
}

export class RateLimiter {
  private readonly windows: Array<RateWindow & { sent: Array<{ at: number; weight: number }>; used: number }>;
  private pausedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  private totalSent = 0;
  private totalWaits = 0;
  private totalWaitedMs = 0;

  constructor(windows: RateWindow[], private readonly clock: () => number = () => performance.now()) {
    this.windows = windows.map((w) => ({ ...w, limit: Math.max(1, Math.floor(w.limit)), sent: [], used: 0 }));
  }

  /**
   * Resolves when `weight` more units (requests, or list item changes) fit in every
   * window; callers are served in order. A weight above a window's limit waits for an
   * empty window rather than forever.
   */
  acquire(signal?: AbortSignal, weight = 1): Promise<void> {
    const turn = this.queue.then(() => this.waitForRoom(signal, weight));
    // A caller that gave up must not block the ones behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** After a 429: nobody sends before `ms` from now. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock() + ms);
  }

  pausedForMs(): number {
    return Math.max(0, this.pausedUntil - this.clock());
  }

  /** Units still allowed in the tightest window right now. */
  headroom(): number {
    const now = this.clock();
    return Math.min(...this.windows.map((w) => {
      this.expire(w, now);
      return w.limit - w.used;
    }));
  }

  /** Units still allowed in the longest window: the budget, where headroom() is also the burst. */
  budgetLeft(): number {
    const now = this.clock();
    const longest = this.windows.reduce((a, b) => (b.windowMs > a.windowMs ? b : a));
    this.expire(longest, now);
    return longest.limit - longest.used;
  }

  get sent(): number {
    return this.totalSent;
  }

  /** Calls that had to wait for room (or a 429 pause), and for how long in all: the cost of staying under the limit. */
  get waits(): { count: number; ms: number } {
    return { count: this.totalWaits, ms: this.totalWaitedMs };
  }

  private expire(w: (typeof this.windows)[number], now: number): void {
    while (w.sent.length && w.sent[0]!.at <= now - w.windowMs) w.used -= w.sent.shift()!.weight;
  }

  private async waitForRoom(signal: AbortSignal | undefined, weight: number): Promise<void> {
    const startedAt = this.clock();
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new StoppedError();
      const now = this.clock();
      let waitMs = Math.max(0, this.pausedUntil - now);
      for (const w of this.windows) {
        this.expire(w, now);
        const need = Math.min(weight, w.limit);
        // Wait until enough of the oldest entries have left the window.
        let freed = w.limit - w.used;
        for (let i = 0; freed < need && i < w.sent.length; i++) {
          freed += w.sent[i]!.weight;
          if (freed >= need) waitMs = Math.max(waitMs, w.sent[i]!.at + w.windowMs - now + 1);
        }
      }
      if (waitMs <= 0) {
        for (const w of this.windows) {
          w.sent.push({ at: now, weight });
          w.used += weight;
        }
        this.totalSent += weight;
        if (attempt > 0) {
          this.totalWaits++;
          this.totalWaitedMs += now - startedAt;
        }
        return;
      }
      await sleep(waitMs, signal);
    }
  }
}

/** setTimeout as a promise that an AbortSignal cuts short (rejecting with StoppedError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StoppedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StoppedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
