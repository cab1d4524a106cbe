// Wrong admin tokens at the sign-in form are counted per client address; past the limit
// the form answers 429 for a while. The token is long and random, so this mostly keeps
// a guessing script from filling the log.

export interface ThrottleLimits {
  failures: number;
  windowMs: number;
  /** Addresses remembered at most; beyond it the oldest are forgotten. */
  maxTracked: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { failures: 10, windowMs: 60_000, maxTracked: 10_000 };

export function createLoginThrottle(now: () => number, limits: ThrottleLimits = DEFAULT_THROTTLE) {
  const failures = new Map<string, number[]>();

  const recent = (address: string, nowMs: number) => (failures.get(address) ?? []).filter((t) => t > nowMs - limits.windowMs);

  return {
    /** 0 when the address may try; otherwise seconds until it may. */
    retryAfterSeconds(address: string): number {
      const nowMs = now();
      const times = recent(address, nowMs);
      if (times.length < limits.failures) return 0;
      return Math.max(1, Math.ceil((times[0]! + limits.windowMs - nowMs) / 1000));
    },
    fail(address: string): void {
      const nowMs = now();
      const times = recent(address, nowMs);
      times.push(nowMs);
      failures.delete(address);
      failures.set(address, times.slice(-limits.failures));
      if (failures.size > limits.maxTracked) failures.delete(failures.keys().next().value!);
    },
  };
}
