// `npm run bench`: measures, never asserts. Each figure is the median of several runs;
// results go to bench/results.json and a table to bench/RESULTS.md. A scenario that
// errors fails the whole run loudly rather than leaving a gap that looks like a number.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, startServiceProcess, type RunningService } from '../test/support/process.ts';
import { tempDir } from '../test/support/service.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const only = process.argv.slice(2);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Peak resident memory of a process, from the kernel's high-water mark. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

interface LoadResult {
  requests_per_s: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  status_codes: Record<string, { count: number }>;
}

async function runLoad(svc: RunningService, site: { id: string; secret: string }, batch: number, connections: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/ingest-load.ts', `--url=${svc.url}`, `--site=${site.id}`, `--secret=${site.secret}`, `--batch=${batch}`, `--duration=${DURATION}`, `--connections=${connections}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load generator exited ${code}`))));
  });
}

async function withService<T>(fn: (svc: RunningService, site: { id: string; secret: string }) => Promise<T>, extraEnv: NodeJS.ProcessEnv = {}): Promise<T> {
  const tmp = tempDir('edgejail-bench-');
  const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef', EDGEJAIL_LOG_LEVEL: 'error', ...extraEnv };
  const add = runCli(['site', 'add', 'bench', '--json'], env);
  if (add.status !== 0) throw new Error(add.stderr);
  const site = JSON.parse(add.stdout);
  const svc = await startServiceProcess(env);
  try {
    return await fn(svc, site);
  } finally {
    await svc.stop();
    tmp.cleanup();
  }
}

/** Ingest at one batch size: median over RUNS fresh services. */
async function ingest(batch: number, connections: number) {
  const runs: Array<LoadResult & { rss_peak_mb: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await withService(async (svc, site) => {
      const result = await runLoad(svc, site, batch, connections);
      if (result.errors > 0 && result.requests_per_s === 0) throw new Error(`ingest batch ${batch}: every request failed`);
      return { ...result, rss_peak_mb: peakRssMb(svc.child.pid!) };
    }));
  }
  return {
    requests_per_s: round(median(runs.map((r) => r.requests_per_s))),
    events_per_s: round(median(runs.map((r) => r.events_per_s))),
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
    rss_peak_mb: round(median(runs.map((r) => r.rss_peak_mb))),
    non2xx: median(runs.map((r) => r.non2xx)),
  };
}

async function main() {
  const results: Record<string, unknown> = {};
  const want = (name: string) => !only.length || only.includes(name);
  const resultsFile = join(ROOT, 'bench/results.json');
  const previous = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {};

  if (want('ingest')) {
    const unbatched = await ingest(1, 32);
    const batched = await ingest(50, 16);
    // 10x the connections of the batched run: the service must shed, not grow.
    const overload = await ingest(50, 160);
    Object.assign(results, {
      ingest_unbatched_requests_per_s: unbatched.requests_per_s,
      ingest_unbatched_p50_ms: unbatched.p50_ms,
      ingest_unbatched_p99_ms: unbatched.p99_ms,
      ingest_batched_events_per_s: batched.events_per_s,
      ingest_batched_requests_per_s: batched.requests_per_s,
      ingest_batched_p50_ms: batched.p50_ms,
      ingest_batched_p99_ms: batched.p99_ms,
      ingest_p99_ms: Math.max(unbatched.p99_ms, batched.p99_ms),
      rss_peak_mb: Math.max(unbatched.rss_peak_mb, batched.rss_peak_mb),
      rss_overload_mb: overload.rss_peak_mb,
      overload_shed_responses: overload.non2xx,
      overload_events_per_s: overload.events_per_s,
      overload_p99_ms: overload.p99_ms,
    });
  }

  const machine = {
    date: new Date().toISOString(),
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory_gb: round(totalmem() / 2 ** 30),
    node: process.version,
    php: (() => {
      try {
        return execFileSync('php', ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' });
      } catch {
        return 'not installed';
      }
    })(),
    runs_per_figure: RUNS,
    seconds_per_run: DURATION,
  };
  const merged = { ...previous, ...results, machine };
  writeFileSync(resultsFile, `${JSON.stringify(merged, null, 2)}\n`);
  writeFileSync(join(ROOT, 'bench/RESULTS.md'), renderMarkdown(merged));
  console.log(JSON.stringify(merged, null, 2));
}

function renderMarkdown(r: Record<string, unknown>): string {
  const m = r.machine as Record<string, unknown>;
  const rows = Object.entries(r)
    .filter(([k]) => k !== 'machine')
    .map(([k, v]) => `| \`${k}\` | ${typeof v === 'object' ? Object.entries(v as object).map(([a, b]) => `${a}: ${b}`).join(', ') : v} |`);
  return `# EdgeJail benchmark results

Machine: ${m.cpu}, ${m.memory_gb} GiB. Node ${m.node}, PHP ${m.php}. Date ${m.date}.
Each figure is the median of ${m.runs_per_figure} runs of ${m.seconds_per_run} s (load generator: autocannon in its own process).

| figure | value |
|---|---|
${rows.join('\n')}
`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
