// `npm run bench [-- section...]`: measures, never asserts. Sections (all by default):
//   ingest      rows 1–2  ingest throughput, latency and memory, 10× overload
//   banlatency  row 3     threshold-crossing event → rule at the fake Cloudflare, both backends
//   botnet      row 4     5,000 IPs × maxretry → all blocked, API calls, both backends
//   botnet50k   row 8     50,000 spread IPs × 6 failures, list capped at 10,000: list full, placed, calls
//   ranges      row 8     12,800 IPs in 50 /24s: list items that hold them
//   plugin      row 5     plugin overhead on the real WordPress (scripts/wp-overhead.sh)
//   origin      row 6     PHP requests during a brute force from 50 IPs, with and without EdgeJail
//   fail2ban    row 7     Debian's fail2ban on the same attack: fail2ban-regex lines/s, ban latency
//   bans200k    bans_200k_rss_mb  service RSS and start-up time holding 200,000 active bans
//   footprint   rss_idle_mb, cli_bans_ms  idle service RSS; `edgejail bans` over 10,000 bans
//   shield      issue 11: login shield up/down, PHP requests with and without it, the human's logins
//   tail        issue 15: edgejail tail vs fail2ban-regex on the same 1,000,000-line nginx log
//   origin-survival  issue 18: the origin in a memory cgroup through three attacks, EdgeJail off and on:
//               OOM kills, peak memory, restarts, the visitor's pages and the admin's logins
// Results merge into bench/results.json (sections not run keep their last figures, with the
// date they were measured) and bench/RESULTS.md. A section that errors stops the run with a
// non-zero exit, so a gap never passes for a number.
//
// Knobs: BENCH_RUNS (3), BENCH_SECONDS (ingest, 8), BENCH_BANLATENCY_SAMPLES (100),
// BENCH_BOTNET_IPS (5000), BENCH_BOTNET50K_IPS (50000), BENCH_RANGES_NETWORKS (50), BENCH_BOTNET_BACKENDS (list,access_rules), BENCH_PLUGIN_REQUESTS (300),
// BENCH_ORIGIN_SECONDS (60), BENCH_ORIGIN_RUNS (BENCH_RUNS), BENCH_F2B_LINES (200000), BENCH_F2B_SAMPLES (30),
// BENCH_TAIL_LINES (1000000),
// BENCH_SURVIVAL_SECONDS (120 per attack and mode), BENCH_SURVIVAL_RUNS (BENCH_RUNS), BENCH_SURVIVAL_LIMIT_MB (1024),
// BENCH_SURVIVAL_MAX_CHILDREN (sized from a measured worker), BENCH_SURVIVAL_CONCURRENCY (1.5 × max_children),
// BENCH_SURVIVAL_ATTACKS (seed,botnet,distributed), BENCH_SURVIVAL_MODES (off,on).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/process.ts';
import type { Backend } from '../test/e2e/support/edgejail-service.ts';
import { describeMachine } from './lib/machine.ts';
import { renderMarkdown } from './report.ts';
import { ingestSection } from './sections/ingest.ts';
import { banLatencySection } from './sections/ban-latency.ts';
import { botnetSection } from './sections/botnet.ts';
import { botnetCapacitySection, botnetRangesSection } from './sections/botnet-capacity.ts';
import { pluginOverheadSection } from './sections/plugin-overhead.ts';
import { originLoadSection } from './sections/origin-load.ts';
import { fail2banSection } from './sections/fail2ban.ts';
import { bans200kSection } from './sections/bans-200k.ts';
import { footprintSection } from './sections/footprint.ts';
import { shieldSection } from './sections/shield.ts';
import { tailSection } from './sections/tail.ts';
import { ATTACKS, MODES, originSurvivalSection } from './sections/origin-survival.ts';

const env = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
};
const RUNS = env('BENCH_RUNS', 3);
const optionalEnv = (name: string) => (process.env[name] ? env(name, 0) : undefined);

function listEnv<T extends string>(name: string, choices: readonly T[]): T[] {
  const wanted = (process.env[name] ?? choices.join(',')).split(',').filter(Boolean);
  const unknown = wanted.filter((a) => !(choices as readonly string[]).includes(a));
  if (unknown.length) throw new Error(`${name}: unknown value(s) ${unknown.join(', ')}; choose from ${choices.join(', ')}`);
  return wanted as T[];
}

const SECTIONS: Record<string, () => Promise<Record<string, unknown>>> = {
  ingest: () => ingestSection(RUNS, env('BENCH_SECONDS', 8)),
  banlatency: () => banLatencySection(RUNS, env('BENCH_BANLATENCY_SAMPLES', 100)),
  botnet: () =>
    botnetSection(
      env('BENCH_BOTNET_IPS', 5_000),
      (process.env.BENCH_BOTNET_BACKENDS ?? 'list,access_rules').split(',').filter(Boolean) as Backend[],
    ),
  botnet50k: () => botnetCapacitySection(env('BENCH_BOTNET50K_IPS', 50_000)),
  ranges: () => botnetRangesSection(env('BENCH_RANGES_NETWORKS', 50)),
  plugin: () => pluginOverheadSection(ROOT, env('BENCH_PLUGIN_REQUESTS', 300)),
  origin: () => originLoadSection(env('BENCH_ORIGIN_RUNS', RUNS), env('BENCH_ORIGIN_SECONDS', 60)),
  fail2ban: () => fail2banSection(RUNS, env('BENCH_F2B_LINES', 200_000), env('BENCH_F2B_SAMPLES', 30)),
  bans200k: () => bans200kSection(),
  footprint: () => footprintSection(RUNS),
  shield: () => shieldSection(env('BENCH_SHIELD_RUNS', RUNS)),
  tail: () => tailSection(RUNS, env('BENCH_TAIL_LINES', 1_000_000)),
  'origin-survival': () =>
    originSurvivalSection({
      seconds: env('BENCH_SURVIVAL_SECONDS', 120),
      runs: env('BENCH_SURVIVAL_RUNS', RUNS),
      limitMb: env('BENCH_SURVIVAL_LIMIT_MB', 1024),
      maxChildren: optionalEnv('BENCH_SURVIVAL_MAX_CHILDREN'),
      concurrency: optionalEnv('BENCH_SURVIVAL_CONCURRENCY'),
      attacks: listEnv('BENCH_SURVIVAL_ATTACKS', ATTACKS),
      modes: listEnv('BENCH_SURVIVAL_MODES', MODES),
    }),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((s) => !(s in SECTIONS));
  if (unknown.length) throw new Error(`unknown section(s) ${unknown.join(', ')}; choose from ${Object.keys(SECTIONS).join(', ')}`);
  const run = wanted.length ? wanted : Object.keys(SECTIONS);

  const resultsFile = join(ROOT, 'bench/results.json');
  const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>) : {};
  const results: Record<string, unknown> = { ...previous };
  const sections = { ...((previous.sections as Record<string, string> | undefined) ?? {}) };

  const save = () => {
    const merged = { ...results, sections, machine: { ...describeMachine(), runs_per_figure: RUNS } };
    writeFileSync(resultsFile, `${JSON.stringify(merged, null, 2)}\n`);
    writeFileSync(join(ROOT, 'bench/RESULTS.md'), renderMarkdown(merged));
    return merged;
  };

  for (const name of run) {
    console.error(`[bench] ${name}: starting`);
    const started = Date.now();
    for (const [key, value] of Object.entries(await SECTIONS[name]!())) {
      // Figures by backend keep the backends this run did not measure (BENCH_BOTNET_BACKENDS=list).
      const before = results[key];
      const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
      results[key] = isObject(before) && isObject(value) ? { ...before, ...value } : value;
    }
    sections[name] = new Date().toISOString();
    console.error(`[bench] ${name}: done in ${Math.round((Date.now() - started) / 1000)} s`);
    save(); // a later section that fails keeps the figures already measured
  }
  console.log(JSON.stringify(save(), null, 2));
}

main().catch((error) => {
  console.error('[bench] FAILED:', error);
  process.exit(1);
});
