// Row 6: what reaches PHP during a brute force from 50 addresses through the edge, with
// EdgeJail (plugin active, service, bans at the fake Cloudflare) and without it (plugin
// inactive, nothing banned). The count comes from nginx's access log (requests PHP ran);
// "after ban" counts requests that arrived at the origin after their sender's block was live
// at the fake Cloudflare (arrival = log time − request time).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../test/support/process.ts';
import { startOrigin, startStory, type Origin } from '../../test/e2e/support/stack.ts';
import { readAccessLog } from '../../test/e2e/support/origin.ts';
import { benchIp } from '../lib/events.ts';
import { median, round } from '../lib/stats.ts';
import { BENCH_JAILS } from './ban-latency.ts';

const BOTS = 50;

interface LoadOutput {
  requests: number;
  edge_403: number;
  origin_403: number;
  login_failed_200: number;
  other: number;
  errors: number;
  seconds: number;
}

function runBots(edgeUrl: string, ips: string[], seconds: number, user: string): Promise<LoadOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/brute-force-load.ts', `--url=${edgeUrl}`, `--ips=${ips.join(',')}`, `--duration=${seconds}`, `--user=${user}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`brute-force load exited ${code}`))));
  });
}

export function setPluginActive(origin: Origin, active: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', [join(ROOT, 'scripts/wp-install.php'), active ? 'activate' : 'deactivate'], { env: { ...process.env, WP_ENV_ROOT: origin.paths.WP_ENV_ROOT }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`wp-install.php ${active ? 'activate' : 'deactivate'} exited ${code}`))));
  });
}

interface ModeRun {
  php_requests: number;
  requests_sent: number;
  after_ban: number;
  in_flight_at_ban: number;
  banned_ips: number;
}

async function runMode(origin: Origin, withEdgeJail: boolean, ips: string[], seconds: number): Promise<ModeRun> {
  // When the edge let each request through (by CF-Ray), on the clock the fake stamps rules with.
  const admittedAt = new Map<string, number>();
  const story = await startStory(origin, { backend: 'access_rules', jails: BENCH_JAILS, onForward: (_ip, ray) => admittedAt.set(ray, Date.now()) });
  try {
    if (!withEdgeJail) await setPluginActive(origin, false);
    const before = readAccessLog(origin.paths).length;
    const load = await runBots(story.edge.url, ips, seconds, origin.paths.WP_ENV_USER);
    if (load.errors || load.other) throw new Error(`brute force ${withEdgeJail ? 'with' : 'without'} EdgeJail: ${load.errors} errors, ${load.other} unexpected answers`);
    await new Promise((r) => setTimeout(r, 500)); // nginx writes a line once the answer is done
    const mine = new Set(ips);
    // A ban is live from the moment its access rule exists at the fake Cloudflare.
    const liveAt = new Map<string, number>();
    for (const rule of story.fake.accessRules('account')) {
      if (mine.has(rule.configuration.value)) liveAt.set(rule.configuration.value, Date.parse(rule.created_on));
    }
    const lines = readAccessLog(origin.paths).slice(before).filter((l) => mine.has(l.cf) || mine.has(l.addr));
    const php = lines.filter((l) => l.php === 1);
    let afterBan = 0;
    let inFlight = 0;
    for (const line of lines) {
      const live = liveAt.get(line.cf || line.addr);
      if (live === undefined) continue;
      const admitted = admittedAt.get(line.ray);
      // Not let through by the edge at all, or let through once the rule existed: a leak.
      if (admitted === undefined || admitted > live) afterBan++;
      // Let through just before the rule existed, reaching nginx just after it: the race every edge has.
      else if ((line.t - line.rt) * 1000 > live) inFlight++;
    }
    return { php_requests: php.length, requests_sent: load.requests, after_ban: afterBan, in_flight_at_ban: inFlight, banned_ips: liveAt.size };
  } finally {
    if (!withEdgeJail) await setPluginActive(origin, true);
    await story.close();
  }
}

export async function originLoadSection(runs: number, seconds: number) {
  const origin = await startOrigin({ E2E_DIR: join(ROOT, '.tmp/bench-origin') });
  try {
    const withRuns: ModeRun[] = [];
    const withoutRuns: ModeRun[] = [];
    for (let r = 0; r < runs; r++) {
      // Fresh addresses each time: bans of one run must not carry into the next.
      const ips = (offset: number) => Array.from({ length: BOTS }, (_, i) => benchIp(20_000 + offset + i));
      withoutRuns.push(await runMode(origin, false, ips(r * 2 * BOTS), seconds));
      withRuns.push(await runMode(origin, true, ips((r * 2 + 1) * BOTS), seconds));
      console.error(`[bench] origin load run ${r + 1}: without ${JSON.stringify(withoutRuns.at(-1))}, with ${JSON.stringify(withRuns.at(-1))}`);
    }
    return {
      origin_php_requests: { without_edgejail: median(withoutRuns.map((x) => x.php_requests)), with_edgejail: median(withRuns.map((x) => x.php_requests)) },
      origin_requests_sent: { without_edgejail: median(withoutRuns.map((x) => x.requests_sent)), with_edgejail: median(withRuns.map((x) => x.requests_sent)) },
      origin_requests_after_ban: Math.max(...withRuns.map((x) => x.after_ban)),
      origin_requests_in_flight_at_ban: Math.max(...withRuns.map((x) => x.in_flight_at_ban)),
      origin_banned_ips: median(withRuns.map((x) => x.banned_ips)),
      origin_load_seconds: seconds,
      origin_load_bots: BOTS,
      origin_php_reduction_pct: round(100 * (1 - median(withRuns.map((x) => x.php_requests)) / median(withoutRuns.map((x) => x.php_requests)))),
    };
  } finally {
    await origin.stop();
  }
}
