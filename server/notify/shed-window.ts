// Requests shed in the recent past, in ten-second buckets: the overload hooks record into
// it on the hot path (one array write), the ticker reads a total. Bounded by construction.
import type { ShedSnapshot } from './snapshot.ts';

const BUCKET_MS = 10_000;

export function createShedWindow(windowMs: number) {
  const size = Math.max(1, Math.ceil(windowMs / BUCKET_MS));
  const buckets: Array<{ slot: number; byReason: Map<string, number> }> = Array.from({ length: size }, () => ({ slot: -1, byReason: new Map() }));
  return {
    record(reason: string, nowMs: number): void {
      const slot = Math.floor(nowMs / BUCKET_MS);
      const bucket = buckets[slot % size]!;
      if (bucket.slot !== slot) {
        bucket.slot = slot;
        bucket.byReason.clear();
      }
      bucket.byReason.set(reason, (bucket.byReason.get(reason) ?? 0) + 1);
    },
    snapshot(nowMs: number): ShedSnapshot {
      const current = Math.floor(nowMs / BUCKET_MS);
      const byReason: Record<string, number> = {};
      let total = 0;
      for (const bucket of buckets) {
        if (bucket.slot < 0 || current - bucket.slot >= size) continue;
        for (const [reason, n] of bucket.byReason) {
          byReason[reason] = (byReason[reason] ?? 0) + n;
          total += n;
        }
      }
      return { windowMs: size * BUCKET_MS, total, byReason };
    },
  };
}

export type ShedWindow = ReturnType<typeof createShedWindow>;
