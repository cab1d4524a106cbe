// Enforcement figures for `npm run bench` (measures, never asserts): time from a ban
// being committed to the IP being blocked at the fake Cloudflare, p50/p99, and the API
// calls 2,000 bans cost, for each backend. Run alone: node --import tsx test/cloudflare/enforcement-bench.ts
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createStore } from '../../server/store/store.ts';
import { runCloudflareCommand } from '../../server/cloudflare/commands.ts';
import { createHarness, type Harness } from './support.ts';

export interface EnforcementBench {
  backend: 'access_rules' | 'list';
  /** Ban committed → fake answers isBlocked(ip) = true, one ban at a time. */
  ban_to_blocked_p50_ms: number;
  ban_to_blocked_p99_ms: number;
  samples: number;
  /** HTTP requests the enforcer made for 2,000 bans committed together, until all were blocked. */
  api_calls_2000_bans: number;
  seconds_2000_bans: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const round = (n: number) => Math.round(n * 10) / 10;

async function waitUntilBlocked(h: Harness, ip: string): Promise<void> {
  while (!h.fake.isBlocked(ip)) await new Promise((resolve) => setImmediate(resolve));
}

export async function benchEnforcement(backend: 'access_rules' | 'list', samples = 200): Promise<EnforcementBench> {
  // Cloudflare's real limit would make 2,000 access rules take over eight minutes; the
  // bench counts calls, so both sides get a limit that does not hold it up. Bulk
  // operations complete after 50 ms in the fake, a guess at Cloudflare's pace.
  const h = await createHarness({
    fake: { rateLimit: { limit: 1_000_000, windowMs: 300_000, blockMs: 300_000 }, bulkOperationMs: 50 },
    config: { backend, aggregate: { enabled: false }, rate_limit: { requests: 1_000_000, per_seconds: 300, max_per_second: 200, list_item_changes: 1_000_000 }, bulk_poll: { initial_ms: 25, max_ms: 200 } },
  });
  try {
    if (backend === 'list') {
      const code = await runCloudflareCommand(['setup'], { db: h.db, config: { ...h.config, zone_id: h.fake.zoneId }, out: () => undefined });
      if (code !== 0) throw new Error('setup failed against the fake');
    }
    const enforcer = await h.startEnforcer();
    await enforcer.reconcile();

    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const ip = `198.18.${i >> 8}.${i & 255}`;
      const started = performance.now();
      h.ban(ip);
      await waitUntilBlocked(h, ip);
      latencies.push(performance.now() - started);
      await h.settle(enforcer);
    }
    latencies.sort((a, b) => a - b);

    const store = createStore(h.db);
    const ips = Array.from({ length: 2_000 }, (_, i) => `10.77.${i >> 8}.${i & 255}`);
    const callsBefore = h.fake.calls.length;
    const started = performance.now();
    const at = new Date().toISOString();
    const until = new Date(Date.now() + 3_600_000).toISOString();
    store.transaction(() => {
      for (const ip of ips) {
        store.insertBan({ ip_key: ip, jail: 'bench', reason: 'bench', trigger_event_ids: null, ban_count: 1, created_at: at, expires_at: until });
        store.enqueueEnforcement(ip, at);
      }
    });
    enforcer.wake();
    await h.settle(enforcer);
    const seconds = (performance.now() - started) / 1000;
    const blocked = ips.filter((ip) => h.fake.isBlocked(ip)).length;
    if (blocked !== ips.length) throw new Error(`${backend}: only ${blocked} of 2,000 IPs blocked`);

    return {
      backend,
      ban_to_blocked_p50_ms: round(quantile(latencies, 0.5)),
      ban_to_blocked_p99_ms: round(quantile(latencies, 0.99)),
      samples,
      api_calls_2000_bans: h.fake.calls.length - callsBefore,
      seconds_2000_bans: round(seconds),
    };
  } finally {
    await h.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const backend of ['access_rules', 'list'] as const) console.log(JSON.stringify(await benchEnforcement(backend)));
}
