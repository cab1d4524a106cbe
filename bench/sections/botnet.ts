// Row 4: 5,000 distinct addresses each fail maxretry times; how long until every one is
// blocked at the (fake) Cloudflare API, and how many API calls that took, against the fake
// holding Cloudflare's real limit (1,200 calls per 5 minutes, then 5 minutes of 429s).
import { performance } from 'node:perf_hooks';
import { startFakeCloudflare, type FakeCloudflare } from '../../test/fake-cloudflare/server.ts';
import { ADMIN_TOKEN, startStoryService, type Backend, type StoryService } from '../../test/e2e/support/edgejail-service.ts';
import { benchIp, failedLogins, postEvents } from '../lib/events.ts';
import { round } from '../lib/stats.ts';
import { sleep } from '../../test/e2e/support/poll.ts';
import { BENCH_JAILS } from './ban-latency.ts';

const MAXRETRY = 5;
const BATCH = 500; // the plugin's largest batch
const SENDERS = 4; // like four PHP workers delivering at once
const LIST_NAME = 'edgejail_blocked';

export interface BotnetRun {
  seconds: number;
  api_calls: number;
  rate_limited_calls: number;
  events_sent_seconds: number;
}

function blockedCount(fake: FakeCloudflare, backend: Backend): number {
  return backend === 'list' ? fake.listItems(LIST_NAME).length : fake.accessRules('account').length + fake.accessRules('zone').length;
}

/** The enforcer has nothing queued or in flight: every call these bans cost has been made. */
async function enforcerSettled(service: StoryService, ips: number): Promise<boolean> {
  const res = await fetch(`${service.url}/v1/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`GET /v1/status answered ${res.status}`);
  const { cloudflare } = (await res.json()) as { cloudflare: { outboxDepth: number; inFlight: number; states: Record<string, number> } };
  return cloudflare.outboxDepth === 0 && cloudflare.inFlight === 0 && (cloudflare.states.active ?? 0) >= ips;
}

export async function measureBotnet(backend: Backend, ips: number, timeoutMs: number): Promise<BotnetRun> {
  const fake = await startFakeCloudflare(); // 1,200 calls / 5 min, as Cloudflare
  // Row 4 measures per-IP placement (5,000 items or rules); ranges have their own row.
  const service = await startStoryService({ backend, fake, jails: BENCH_JAILS, cloudflare: { aggregate: { enabled: false } } });
  try {
    const addresses = Array.from({ length: ips }, (_, i) => benchIp(i, 18));
    // Round by round, every bot one more failure: the last round crosses maxretry for all.
    const events = Array.from({ length: MAXRETRY }, () => failedLogins(addresses)).flat();
    const batches = Array.from({ length: Math.ceil(events.length / BATCH) }, (_, i) => events.slice(i * BATCH, (i + 1) * BATCH));
    const callsBefore = fake.calls.length;
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < batches.length) await postEvents(service.url, service.site, batches[next++]!);
      }),
    );
    const sent = performance.now();
    let lastReport = 0;
    while (blockedCount(fake, backend) < ips) {
      const elapsed = performance.now() - started;
      if (elapsed > timeoutMs) throw new Error(`${backend}: only ${blockedCount(fake, backend)} of ${ips} blocked after ${Math.round(elapsed / 1000)} s`);
      if (elapsed - lastReport > 60_000) {
        lastReport = elapsed;
        console.error(`[bench] botnet ${backend}: ${blockedCount(fake, backend)}/${ips} blocked after ${Math.round(elapsed / 1000)} s, ${fake.calls.length - callsBefore} API calls`);
      }
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;
    const missing = addresses.filter((ip) => !fake.isBlocked(ip));
    if (missing.length) throw new Error(`${backend}: ${missing.length} addresses counted but not blocked, e.g. ${missing[0]}`);
    // Calls are counted once the enforcer has confirmed every ban (list item ids read back...).
    const settleDeadline = performance.now() + 10 * 60_000;
    while (!(await enforcerSettled(service, ips))) {
      if (performance.now() > settleDeadline) throw new Error(`${backend}: enforcer not settled 10 minutes after all ${ips} were blocked`);
      await sleep(200);
    }
    const calls = fake.calls.slice(callsBefore);
    return {
      seconds: round(seconds, 2),
      api_calls: calls.length,
      rate_limited_calls: calls.filter((c) => c.status === 429).length,
      events_sent_seconds: round((sent - started) / 1000, 2),
    };
  } finally {
    await service.dispose();
    await fake.close();
  }
}

export async function botnetSection(ips: number, backends: Backend[]) {
  const out: Record<string, Record<string, number>> = { botnet_5000_seconds: {}, botnet_5000_api_calls: {}, botnet_5000_rate_limited_calls: {}, botnet_5000_events_sent_seconds: {} };
  // BENCH_BOTNET_BACKENDS=list keeps the other backend's figures: say when each was measured.
  const measuredAt: Record<string, string> = {};
  for (const backend of backends) {
    // Access rules cost one call per address: 5,000 of them need about five of Cloudflare's 5-minute windows.
    const timeoutMs = backend === 'list' ? 15 * 60_000 : 45 * 60_000;
    const run = await measureBotnet(backend, ips, timeoutMs);
    console.error(`[bench] botnet ${backend}: ${JSON.stringify(run)}`);
    out.botnet_5000_seconds![backend] = run.seconds;
    out.botnet_5000_api_calls![backend] = run.api_calls;
    out.botnet_5000_rate_limited_calls![backend] = run.rate_limited_calls;
    out.botnet_5000_events_sent_seconds![backend] = run.events_sent_seconds;
    measuredAt[backend] = new Date().toISOString();
  }
  return { ...out, botnet_5000_measured_at: measuredAt, botnet_ips: ips };
}
