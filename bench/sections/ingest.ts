// Rows 1 and 2: signed POST /v1/events at batch 1 and batch 50, from autocannon in its own
// process, and the service's peak RSS at that load and at 10× the connections (where it
// must shed with 429/503 rather than grow).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { ROOT, runCli, startServiceProcess, type RunningService } from '../../test/support/process.ts';
import { tempDir } from '../../test/support/service.ts';
import { median, round } from '../lib/stats.ts';
import { onGeneratorCore, pinning, pinService } from '../lib/pin.ts';
import { procCpuSeconds, procStatusMb } from './bans-200k.ts';

interface LoadResult {
  requests_per_s: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  /** p99 of the 429/503 answers alone; null when none was shed. */
  shed_p99_ms: number | null;
  errors: number;
  /** p99 of the load generator's own event-loop delay: how late it may have read an answer. */
  generator_delay_p99_ms: number;
  status_codes: Record<string, { count: number }>;
}

const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

/** The service's own p99 per batch (verify, validate, store, judge), from its /metrics summary. */
async function serviceP99Ms(svc: RunningService): Promise<number> {
  const text = await (await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })).text();
  const line = /^edgejail_ingest_seconds\{quantile="0\.99"\} ([0-9.e-]+)$/m.exec(text);
  if (!line) throw new Error('edgejail_ingest_seconds{quantile="0.99"} missing from /metrics');
  return Number(line[1]) * 1000;
}

/**
 * Bytes a process has handed to write(2) and its kin so far (/proc/<pid>/io wchar), all its
 * threads together: for the service, its WAL, the checkpoints into the database, and its answers.
 */
function bytesWritten(pid: number): number {
  return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

type AddressOrder = 'in-turn' | 'scattered' | 'warmup';

/**
 * Seconds of saturated load, from addresses no measured run sends, that a warm row's service
 * takes before it is measured. A fresh service compiles its hot code with V8's optimiser on
 * a background thread, which shares the service's one core: in the first seconds of a load
 * that thread took up to half of it (2026-12-07, /proc/<pid>/task, 250 ms samples, ~1.1 s
 * of CPU over 3.5 s at 1,900 single-event requests a second), and an open-loop run then
 * measured that compilation, not the running service the rows are about.
 */
const WARMUP_SECONDS = 8;
/** A warmed service is measured once it uses under this share of a core over a sample. */
const SETTLED_CORE_SHARE = 0.1;
const SETTLE_SAMPLE_MS = 250;
const SETTLE_MAX_MS = 20_000;

/** Waits for a process to go quiet (its compiler thread and checkpoints done); returns the seconds waited. */
async function cpuSettled(pid: number): Promise<number> {
  const started = performance.now();
  let before = procCpuSeconds(pid);
  while (performance.now() - started < SETTLE_MAX_MS) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_SAMPLE_MS));
    const now = procCpuSeconds(pid);
    if (now - before < (SETTLED_CORE_SHARE * SETTLE_SAMPLE_MS) / 1000) break;
    before = now;
  }
  return (performance.now() - started) / 1000;
}

/** The warm-up a warm row's service takes, then its settling; returns the seconds it took to settle. */
async function warmUp(svc: RunningService, site: { id: string; secret: string }, batch: number): Promise<number> {
  await runLoad(svc, site, batch, batch === 1 ? 32 : 16, WARMUP_SECONDS, 0, 'warmup');
  return cpuSettled(svc.child.pid!);
}

function runLoad(svc: RunningService, site: { id: string; secret: string }, batch: number, connections: number, seconds: number, rate = 0, order: AddressOrder = 'in-turn'): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(...onGeneratorCore(process.execPath, ['--import', 'tsx', 'bench/load/ingest-load.ts', `--url=${svc.url}`, `--site=${site.id}`, `--secret=${site.secret}`, `--batch=${batch}`, `--duration=${seconds}`, `--connections=${connections}`, `--rate=${rate}`, `--order=${order}`]), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load generator exited ${code}`))));
  });
}

interface OpenLoopResult {
  offered_rate: number;
  sent: number;
  answered: number;
  ok: number;
  unanswered: number;
  errors: number;
  p50_ms: number | null;
  p99_ms: number | null;
  warmup_seconds: number;
  warmup_p99_ms: number | null;
  status_codes: Record<string, number>;
}

function runOpenLoop(svc: RunningService, site: { id: string; secret: string }, batch: number, rate: number, seconds: number): Promise<OpenLoopResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(...onGeneratorCore(process.execPath, ['--import', 'tsx', 'bench/load/open-loop.ts', `--url=${svc.url}`, `--site=${site.id}`, `--secret=${site.secret}`, `--batch=${batch}`, `--duration=${seconds}`, `--rate=${rate}`]), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`open-loop generator exited ${code}`))));
  });
}

/**
 * The load generator stands in for many sites but sends from one address, so the per-client
 * slot cap (max_inflight_ingest_per_peer, a slowloris defence) is lifted to the global cap.
 */
function benchConfigFile(dir: string): string {
  const file = `${dir}/bench-config.json`;
  writeFileSync(file, JSON.stringify({ overload: { max_inflight_ingest_per_peer: 64 } }));
  return file;
}

async function withService<T>(fn: (svc: RunningService, site: { id: string; secret: string }) => Promise<T>): Promise<T> {
  const tmp = tempDir('edgejail-bench-');
  const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, EDGEJAIL_LOG_LEVEL: 'error', EDGEJAIL_CONFIG: benchConfigFile(tmp.dir) };
  const add = runCli(['site', 'add', 'bench', '--json'], env);
  if (add.status !== 0) throw new Error(add.stderr);
  const site = JSON.parse(add.stdout);
  const svc = await startServiceProcess(env, { production: true });
  pinService(svc.child.pid!);
  try {
    return await fn(svc, site);
  } finally {
    await svc.stop();
    tmp.cleanup();
  }
}

/**
 * One batch size and address order, driven to saturation: median over `runs` fresh services.
 * `warm`: each service first takes the warm-up (see WARMUP_SECONDS). Memory rows come from
 * cold runs: a warmed service also holds the warm-up's addresses in its jails' windows.
 */
async function ingest(batch: number, connections: number, runs: number, seconds: number, order: AddressOrder = 'in-turn', warm = false) {
  const results: Array<LoadResult & { rss_peak_mb: number; service_p99_ms: number; write_bytes_per_event: number; settle_seconds: number }> = [];
  for (let i = 0; i < runs; i++) {
    results.push(await withService(async (svc, site) => {
      const settle_seconds = warm ? await warmUp(svc, site, batch) : 0;
      const writtenBefore = bytesWritten(svc.child.pid!);
      const result = await runLoad(svc, site, batch, connections, seconds, 0, order);
      const written = bytesWritten(svc.child.pid!) - writtenBefore;
      if (result.requests_per_s === 0) throw new Error(`ingest batch ${batch}: no request succeeded (${JSON.stringify(result.status_codes)})`);
      const events = result.events_per_s * seconds;
      return { ...result, rss_peak_mb: procStatusMb(svc.child.pid!, 'VmHWM'), service_p99_ms: await serviceP99Ms(svc), write_bytes_per_event: written / events, settle_seconds };
    }));
  }
  const m = (k: keyof LoadResult | 'rss_peak_mb' | 'service_p99_ms' | 'write_bytes_per_event' | 'settle_seconds') => median(results.map((r) => r[k] as number));
  return {
    requests_per_s: round(m('requests_per_s')),
    events_per_s: round(m('events_per_s')),
    p50_ms: m('p50_ms'),
    p99_ms: m('p99_ms'),
    rss_peak_mb: round(m('rss_peak_mb')),
    service_p99_ms: round(m('service_p99_ms'), 2),
    write_bytes_per_event: round(m('write_bytes_per_event')),
    non2xx: m('non2xx'),
    // Over the runs that shed at all: one that shed nothing has no shed answer to time.
    shed_p99_ms: results.some((r) => r.shed_p99_ms !== null) ? median(results.flatMap((r) => (r.shed_p99_ms === null ? [] : [r.shed_p99_ms]))) : null,
    errors: m('errors'),
    generator_delay_p99_ms: m('generator_delay_p99_ms'),
    settle_seconds: round(m('settle_seconds')),
  };
}

/** Open loop at a fixed offered rate on a fresh service, once it has warmed up and settled: median p99 over `runs`. */
async function openLoop(batch: number, rate: number, runs: number, seconds: number) {
  const results: OpenLoopResult[] = [];
  for (let i = 0; i < runs; i++) {
    results.push(await withService(async (svc, site) => {
      // A running service, not one still starting: its first seconds of background work
      // (checkpoint thread, ban filter warm-up, first reconcile) held a ramp's first
      // second at 1.6 s where the same ramp 6 s after start peaked at 0.4 s, and its first
      // seconds of load are spent compiling (WARMUP_SECONDS).
      await warmUp(svc, site, batch);
      return runOpenLoop(svc, site, batch, rate, seconds);
    }));
  }
  return {
    rate: round(rate),
    p50_ms: median(results.map((r) => r.p50_ms ?? Infinity)),
    p99_ms: median(results.map((r) => r.p99_ms ?? Infinity)),
    warmup_seconds: results[0]?.warmup_seconds ?? 0,
    warmup_p99_ms: median(results.map((r) => r.warmup_p99_ms ?? Infinity)),
    not_2xx: median(results.map((r) => r.sent - r.ok)),
  };
}

export async function ingestSection(runs: number, seconds: number) {
  // Throughput and latency on warmed services, memory on fresh ones (see WARMUP_SECONDS);
  // the cold throughput is kept beside the warm.
  const unbatchedCold = await ingest(1, 32, runs, seconds);
  const batchedCold = await ingest(50, 16, runs, seconds);
  const unbatched = await ingest(1, 32, runs, seconds, 'in-turn', true);
  const batched = await ingest(50, 16, runs, seconds, 'in-turn', true);
  // The same load with the addresses in the order a botnet's arrive: what each new address
  // costs the indexes keyed by address, which the in-turn order hides.
  const scattered = await ingest(50, 16, runs, seconds, 'scattered', true);
  // Issue 14: p99 at half the saturated rate of this very run, requests sent on schedule.
  const batchedOpen = await openLoop(50, batched.requests_per_s / 2, runs, seconds);
  const unbatchedOpen = await openLoop(1, unbatched.requests_per_s / 2, runs, seconds);
  // 10× the connections of the batched run: the service must shed, not grow.
  const overloadCold = await ingest(50, 160, runs, seconds);
  const overload = await ingest(50, 160, runs, seconds, 'in-turn', true);
  return {
    ingest_unbatched_requests_per_s: unbatched.requests_per_s,
    ingest_unbatched_p50_ms: unbatched.p50_ms,
    ingest_unbatched_p99_ms: unbatched.p99_ms,
    ingest_batched_events_per_s: batched.events_per_s,
    ingest_batched_events_per_s_cold: batchedCold.events_per_s,
    ingest_unbatched_requests_per_s_cold: unbatchedCold.requests_per_s,
    ingest_warmup_seconds: WARMUP_SECONDS,
    ingest_warmup_settle_seconds: Math.max(unbatched.settle_seconds, batched.settle_seconds, overload.settle_seconds),
    ingest_batched_requests_per_s: batched.requests_per_s,
    ingest_batched_p50_ms: batched.p50_ms,
    ingest_batched_p99_ms: batched.p99_ms,
    ingest_unbatched_write_bytes_per_event: unbatched.write_bytes_per_event,
    ingest_batched_write_bytes_per_event: batched.write_bytes_per_event,
    ingest_batched_scattered_events_per_s: scattered.events_per_s,
    ingest_batched_scattered_write_bytes_per_event: scattered.write_bytes_per_event,
    // Warm: it includes the warm-up's addresses.
    rss_peak_scattered_mb: scattered.rss_peak_mb,
    ingest_p99_ms: Math.max(unbatched.p99_ms, batched.p99_ms),
    // The handler's own time, without the wait in line: what queueing adds is the difference.
    ingest_service_p99_ms: { batch_1: unbatched.service_p99_ms, batch_50: batched.service_p99_ms },
    rss_peak_mb: Math.max(unbatchedCold.rss_peak_mb, batchedCold.rss_peak_mb),
    rss_overload_mb: overloadCold.rss_peak_mb,
    overload_shed_responses: overload.non2xx,
    overload_events_per_s: overload.events_per_s,
    overload_p99_ms: overload.p99_ms,
    overload_shed_p99_ms: overload.shed_p99_ms,
    overload_p99_ms_cold: overloadCold.p99_ms,
    overload_shed_p99_ms_cold: overloadCold.shed_p99_ms,
    // autocannon on its own core is near saturated by the instant retries; an answer it reads late is timed late.
    overload_generator_delay_p99_ms: overload.generator_delay_p99_ms,
    ingest_batched_generator_delay_p99_ms: batched.generator_delay_p99_ms,
    ingest_open_loop_rate: batchedOpen.rate,
    ingest_open_loop_p99_ms: batchedOpen.p99_ms,
    ingest_open_loop_not_2xx: batchedOpen.not_2xx,
    // Each open-loop run takes the warm-up, waits for the service to settle, then ramps its
    // rate up from 0 over warmup_seconds, measured apart: sockets being opened, not the
    // running service the rows are about.
    ingest_open_loop_warmup_seconds: batchedOpen.warmup_seconds,
    ingest_open_loop_warmup_p99_ms: { batch_50: batchedOpen.warmup_p99_ms, batch_1: unbatchedOpen.warmup_p99_ms },
    ingest_unbatched_open_loop_rate: unbatchedOpen.rate,
    ingest_unbatched_open_loop_p99_ms: unbatchedOpen.p99_ms,
    ingest_unbatched_open_loop_not_2xx: unbatchedOpen.not_2xx,
    ingest_seconds_per_run: seconds,
    ingest_cpu_pinning: pinning,
  };
}
