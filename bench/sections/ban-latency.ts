// Row 3: from the event that crosses maxretry leaving the site, to the block being live at
// the (fake) Cloudflare API, with the service as its own process and its default Cloudflare
// settings (rate limits, bulk-operation polling). One ban at a time, spaced so each measures
// a ban on its own rather than a queue.
import { performance } from 'node:perf_hooks';
import { startFakeCloudflare } from '../../test/fake-cloudflare/server.ts';
import { startStoryService, type Backend } from '../../test/e2e/support/edgejail-service.ts';
import { attempt, benchIp, failedLogins, postEvents } from '../lib/events.ts';
import { percentile, round, median } from '../lib/stats.ts';
import { sleep } from '../../test/e2e/support/poll.ts';

const MAXRETRY = 5;
export const BENCH_JAILS = { wordpress: { maxretry: MAXRETRY, findtime: '10m', bantime: '1h' } };

export interface LatencyRun {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  samples: number;
}

/** Resolves once the fake blocks `ip`, checking every millisecond (the fake lives in this process). */
async function blockedAt(isBlocked: (ip: string) => boolean, ip: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!isBlocked(ip)) {
    if (performance.now() > deadline) throw new Error(`${ip} not blocked at the fake Cloudflare after ${timeoutMs} ms`);
    await sleep(1);
  }
  return performance.now();
}

export async function measureBanLatency(backend: Backend, samples: number, offset = 0): Promise<LatencyRun> {
  const fake = await startFakeCloudflare(); // Cloudflare's real limit: 1,200 calls per 5 minutes
  // Per-IP latency: consecutive bench addresses would otherwise soon be covered by a /24 range.
  const service = await startStoryService({ backend, fake, jails: BENCH_JAILS, cloudflare: { aggregate: { enabled: false } } });
  try {
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const ip = benchIp(offset + i);
      await postEvents(service.url, service.site, failedLogins(Array(MAXRETRY - 1).fill(ip)));
      const started = performance.now();
      await postEvents(service.url, service.site, [attempt(ip)]);
      latencies.push((await blockedAt(fake.isBlocked, ip, 60_000)) - started);
      await sleep(250);
    }
    const rejected = fake.calls.filter((c) => c.status === 429).length;
    if (rejected) throw new Error(`${backend}: the fake Cloudflare refused ${rejected} calls with 429`);
    return { p50_ms: round(percentile(latencies, 0.5)), p99_ms: round(percentile(latencies, 0.99)), max_ms: round(Math.max(...latencies)), samples };
  } finally {
    await service.dispose();
    await fake.close();
  }
}

export async function banLatencySection(runs: number, samples: number) {
  const byBackend: Record<string, LatencyRun> = {};
  for (const backend of ['access_rules', 'list'] as const) {
    const results: LatencyRun[] = [];
    for (let r = 0; r < runs; r++) results.push(await measureBanLatency(backend, samples, r * samples));
    byBackend[backend] = {
      p50_ms: round(median(results.map((x) => x.p50_ms))),
      p99_ms: round(median(results.map((x) => x.p99_ms))),
      max_ms: round(Math.max(...results.map((x) => x.max_ms))),
      samples: samples * runs,
    };
    console.error(`[bench] ban latency ${backend}: ${JSON.stringify(byBackend[backend])}`);
  }
  return {
    ban_latency_p50_ms: Object.fromEntries(Object.entries(byBackend).map(([b, x]) => [b, x.p50_ms])),
    ban_latency_p99_ms: Object.fromEntries(Object.entries(byBackend).map(([b, x]) => [b, x.p99_ms])),
    ban_latency_max_ms: Object.fromEntries(Object.entries(byBackend).map(([b, x]) => [b, x.max_ms])),
    ban_latency_samples_per_backend: samples * runs,
  };
}
