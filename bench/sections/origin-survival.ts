// Issue 18: the night replayed on a small server. The e2e origin (nginx, php-fpm with
// WordPress and the plugin, MariaDB) runs inside a memory cgroup of its own (1 GiB by
// default) with php-fpm set up as a generous small VPS (pm = dynamic, max_children sized from
// a measured worker so that a saturating flood needs more than the limit). Three attacks run
// with EdgeJail off (plugin inactive, the edge lets everything through) and on (plugin,
// service, edge over the fake Cloudflare, login shield on), while a visitor loads the home
// page and a post every second and an admin logs in once a minute. A supervisor brings back
// what the OOM killer takes, as systemd's Restart= would, and counts it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../test/support/process.ts';
import { startOrigin, startStory, type Origin } from '../../test/e2e/support/stack.ts';
import { readAccessLog, runOriginScript } from '../../test/e2e/support/origin.ts';
import { postLogin } from '../../test/e2e/support/wordpress-client.ts';
import { CLEARANCE_COOKIE, CLIENT_IP_HEADER } from '../../test/e2e/edge-proxy.ts';
import { createMemoryGroup, oomVictimsIn, type MemoryGroup } from '../lib/cgroup.ts';
import { median, percentile, round } from '../lib/stats.ts';
import { benchIp } from '../lib/addresses.ts';
import { setPluginActive } from './origin-load.ts';

export const ATTACKS = ['seed', 'botnet', 'distributed'] as const;
export type Attack = (typeof ATTACKS)[number];
export const MODES = ['off', 'on'] as const;
export type Mode = (typeof MODES)[number];

export interface SurvivalOptions {
  seconds: number;
  runs: number;
  limitMb: number;
  /** pm.max_children; by default sized from the measured worker (see sizeMaxChildren). */
  maxChildren?: number;
  /** The attack's parallel connections; by default 1.5 × max_children, so the pool is saturated. */
  concurrency?: number;
  attacks: Attack[];
  /** Both by default; one alone is for looking into a single case. */
  modes?: Mode[];
}

const E2E_DIR = join(ROOT, '.tmp/bench-survival');
const SITE_HOST = 'blog.bench.test';
const CLEARANCE = 'bench-survival-admin-clearance-0123';
const VISITOR_IP = '203.0.113.60';
const ADMIN_IP = '203.0.113.61';
const PAGE_TIMEOUT_MS = 10_000;
const LOGIN_TIMEOUT_MS = 30_000;
const ADMIN_EVERY_MS = 60_000;
// What a generous small VPS runs beside max_children: a few idle workers kept warm.
const POOL = { E2E_PHP_START_SERVERS: '4', E2E_PHP_MIN_SPARE: '2', E2E_PHP_MAX_SPARE: '8' };
const ATTACK_SHAPE: Record<Attack, { ips: number; tries?: number }> = {
  seed: { ips: 4 }, // a few addresses hammering until the night is over
  botnet: { ips: 5_000, tries: 6 },
  distributed: { ips: 5_000, tries: 2 },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => round(bytes / 2 ** 20);
const groupName = (what: string) => `edgejail-origin-survival-${process.pid}-${what}`;
const isBenchIp = (ip: string) => ip.startsWith('198.18.') || ip.startsWith('198.19.');

/**
 * Starts the origin with every one of its servers inside the group: a MariaDB left running
 * by an earlier run would be reused by the script and sit outside it, so it is stopped first.
 */
async function startOriginIn(group: MemoryGroup, env: NodeJS.ProcessEnv): Promise<Origin> {
  await runOriginScript(['stop'], { E2E_DIR });
  const origin = await startOrigin({ E2E_DIR, E2E_CGROUP: group.dir, ...env });
  const inside = new Set(group.pids());
  for (const [name, file] of [['mariadbd', origin.paths.WP_ENV_DB_PID_FILE], ['php-fpm', join(origin.paths.ORIGIN_DIR, 'php-fpm.pid')], ['nginx', join(origin.paths.ORIGIN_DIR, 'nginx.pid')]] as const) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (!inside.has(pid)) {
      await origin.stop().catch(() => undefined);
      throw new Error(`${name} (pid ${pid}) is not in the memory group ${group.dir}`);
    }
  }
  return origin;
}

/** The php-fpm children (not the master) inside a group. */
function fpmWorkers(group: MemoryGroup): number[] {
  return group.pids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('php-fpm: pool');
    } catch {
      return false;
    }
  });
}

function smapsRollup(pid: number): { rss: number; private: number; pss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kb('Rss') * 1024, private: (kb('Private_Clean') + kb('Private_Dirty')) * 1024, pss: kb('Pss') * 1024 };
}

interface PageLoad {
  ok: boolean;
  /** When it was sent, in ms from the start of the attack. */
  at: number;
  ms: number;
  /** The status, or 'timeout' / 'error'. */
  answer: string;
}

async function page(base: string, path: string, ip: string, since = performance.now()): Promise<PageLoad> {
  const started = performance.now();
  const at = started - since;
  try {
    const res = await fetch(`${base}${path}`, { headers: { [CLIENT_IP_HEADER]: ip }, redirect: 'manual', signal: AbortSignal.timeout(PAGE_TIMEOUT_MS) });
    await res.arrayBuffer();
    // WordPress's answer: nginx's 502/504 and "Error establishing a database connection" (500) are not.
    // (Debian's wordpress ships no theme, so the page is WordPress's bootstrap and main query with an empty template.)
    return { ok: res.status === 200, at, ms: performance.now() - started, answer: String(res.status) };
  } catch (error) {
    return { ok: false, at, ms: performance.now() - started, answer: (error as Error).name === 'TimeoutError' ? 'timeout' : 'error' };
  }
}

export interface WorkerSize {
  rss_mb: number;
  private_mb: number;
  pss_mb: number;
  workers_measured: number;
  cgroup: string;
}

/** A worker's memory after serving WordPress pages and failed logins: what sizes max_children. */
export async function measureWorker(limitMb: number): Promise<WorkerSize> {
  const group = createMemoryGroup(groupName('measure'), limitMb * 2 ** 20);
  let origin: Origin | null = null;
  try {
    origin = await startOriginIn(group, { E2E_PHP_PM: 'static', E2E_PHP_WORKERS: '4' });
    const o = origin;
    await Promise.all(Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 25; i++) {
        await page(o.url, '/', benchIp(10 + w));
        await page(o.url, '/?p=1', benchIp(10 + w));
        await postLogin(o.url, benchIp(10 + w), 'alice', `wrong-${i}`).catch(() => undefined);
      }
    }));
    const sizes = fpmWorkers(group).map(smapsRollup);
    if (!sizes.length) throw new Error('no php-fpm worker found in the group to measure');
    return {
      rss_mb: mb(median(sizes.map((s) => s.rss))),
      private_mb: mb(median(sizes.map((s) => s.private))),
      pss_mb: mb(median(sizes.map((s) => s.pss))),
      workers_measured: sizes.length,
      cgroup: group.version,
    };
  } finally {
    if (origin) await origin.stop().catch(() => undefined);
    await group.remove();
  }
}

/**
 * Sized the way a generous host sizes it, by the RSS `ps` shows, and then some: enough
 * workers that the pool at full strength needs 1.5 × the limit of the memory they really use
 * (private pages), before MariaDB and nginx are counted.
 */
export const sizeMaxChildren = (limitMb: number, worker: WorkerSize) => Math.ceil((1.5 * limitMb) / worker.private_mb);

interface Supervisor {
  restarts: { mariadb: number; php_fpm: number; nginx: number };
  stop(): Promise<void>;
}

function pidAlive(file: string, name: string): boolean {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name)) return false;
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Restart= for the three services: checks every 250 ms, brings back what died, counts it. */
function supervise(origin: Origin): Supervisor {
  const restarts = { mariadb: 0, php_fpm: 0, nginx: 0 };
  const watched = [
    { key: 'mariadb' as const, file: origin.paths.WP_ENV_DB_PID_FILE, name: 'mariadbd' },
    { key: 'php_fpm' as const, file: join(origin.paths.ORIGIN_DIR, 'php-fpm.pid'), name: 'php-fpm' },
    { key: 'nginx' as const, file: join(origin.paths.ORIGIN_DIR, 'nginx.pid'), name: 'nginx' },
  ];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const dead = watched.filter((w) => !pidAlive(w.file, w.name));
      if (dead.length) {
        for (const d of dead) restarts[d.key]++;
        console.error(`[bench] origin-survival: ${dead.map((d) => d.name).join(', ')} died; restarting`);
        // A restart that fails (the OOM killer again) is tried again on the next round.
        await runOriginScript(['revive'], origin.env).catch((e: Error) => console.error(`[bench] origin-survival: revive failed: ${e.message.split('\n')[0]}`));
      }
      await sleep(250);
    }
  })();
  return { restarts, stop: async () => { stopped = true; await loop; } };
}

function runAttacker(edgeUrl: string, attack: Attack, concurrency: number, seconds: number): { child: ChildProcess; done: Promise<Record<string, number>> } {
  const shape = ATTACK_SHAPE[attack];
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/night-attack.ts', `--url=${edgeUrl}`, `--kind=${attack}`, `--ips=${shape.ips}`, `--tries=${shape.tries ?? 0}`, `--concurrency=${concurrency}`, `--duration=${seconds}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const done = new Promise<Record<string, number>>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`night-attack ${attack} exited ${code}`))));
  });
  return { child, done };
}

export interface SurvivalRun {
  oom_kills: number;
  /** From the kernel log, by task name; null where dmesg is not readable. */
  oom_victims: Record<string, number> | null;
  peak_mb: number;
  php_fpm_restarts: number;
  mariadb_restarts: number;
  nginx_restarts: number;
  visitor_ok_pct: number;
  visitor_p95_ms: number;
  visitor_pages: number;
  /** How the visitor's pages were answered: status or timeout, with counts. */
  visitor_answers: Record<string, number>;
  /** The visitor's ok % over the last third of the run: has the site recovered? */
  visitor_ok_pct_last_third: number;
  /** When the visitor's failed pages were sent, in seconds from the start of the attack. */
  visitor_failed_at_s: number[];
  /** Seconds from the start of the attack until the shield's rule was at the edge; null if never. */
  shield_up_s: number | null;
  /** Attacker requests that reached PHP, by second of the attack (from nginx's log). */
  attacker_php_by_s: number[];
  admin_login_ok_pct: number;
  admin_logins: number;
  attacker_requests: number;
  attacker_php_requests: number;
  php_workers_max: number;
}

function dmesgText(): string | null {
  const r = spawnSync('dmesg', [], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return r.status === 0 ? r.stdout : null;
}

async function runOnce(attack: Attack, mode: Mode, run: number, o: Required<Omit<SurvivalOptions, 'attacks' | 'runs' | 'modes'>>): Promise<SurvivalRun> {
  const group = createMemoryGroup(groupName(`${attack}-${mode}-${run}`), o.limitMb * 2 ** 20);
  let origin: Origin | null = null;
  try {
    origin = await startOriginIn(group, { E2E_PHP_PM: 'dynamic', E2E_PHP_WORKERS: String(o.maxChildren), ...POOL });
    const on = mode === 'on';
    const story = await startStory(origin, {
      backend: 'list', jails: {},
      // Off: no shield rule ever exists, so the edge lets every request through.
      shield: { config: { enabled: on }, siteHost: SITE_HOST, clearances: new Set([CLEARANCE]) },
    });
    try {
      if (!on) await setPluginActive(origin, false);
      const base = story.edge.url;
      const logLines = readAccessLog(origin.paths).length;
      group.resetPeak();
      let sampledPeak = group.usageBytes();
      let workersMax = 0;
      let shieldUpAt: number | null = null;
      const sampler = setInterval(() => {
        sampledPeak = Math.max(sampledPeak, group.usageBytes());
        workersMax = Math.max(workersMax, fpmWorkers(group).length);
        if (shieldUpAt === null && story.fake.customRules('zone').some((r) => r.enabled && (r.description ?? '').startsWith('edgejail:shield'))) shieldUpAt = performance.now();
      }, 250);
      const supervisor = supervise(origin);
      const started = Date.now();
      const startedPerf = performance.now();
      const attacker = runAttacker(base, attack, o.concurrency, o.seconds);

      const pages: Array<Promise<PageLoad>> = [];
      const visits = (async () => {
        // Open loop: a slow answer does not hold back the next second's reader.
        for (let t = 0; Date.now() - started < o.seconds * 1000; t++) {
          const visit = page(base, '/', VISITOR_IP, startedPerf);
          pages.push(visit, visit.then(() => page(base, '/?p=1', VISITOR_IP, startedPerf)));
          await sleep(started + (t + 1) * 1000 - Date.now());
        }
      })();
      const logins: Array<Promise<boolean>> = [];
      const admin = (async () => {
        for (let t = 2_000; t < o.seconds * 1000; t += ADMIN_EVERY_MS) {
          await sleep(started + t - Date.now());
          logins.push(
            postLogin(base, ADMIN_IP, origin.paths.WP_ENV_ADMIN_USER, origin.paths.WP_ENV_ADMIN_PASSWORD, on ? `${CLEARANCE_COOKIE}=${CLEARANCE}` : undefined, AbortSignal.timeout(LOGIN_TIMEOUT_MS))
              .then((a) => a.outcome === 'logged_in')
              .catch(() => false),
          );
        }
      })();
      const attackCounts = await attacker.done;
      await visits;
      await admin;
      const pageResults = await Promise.all(pages);
      const loginResults = await Promise.all(logins);
      clearInterval(sampler);
      await supervisor.stop();
      await sleep(500); // nginx writes a line once the answer is done

      const lines = readAccessLog(origin.paths).slice(logLines);
      const victims = (() => {
        const text = dmesgText();
        if (text === null) return null;
        const byTask: Record<string, number> = {};
        for (const v of oomVictimsIn(text, group.path)) byTask[v.task] = (byTask[v.task] ?? 0) + 1;
        return byTask;
      })();
      const result: SurvivalRun = {
        oom_kills: group.oomKills(),
        oom_victims: victims,
        peak_mb: mb(Math.max(group.peakBytes() ?? 0, sampledPeak)),
        php_fpm_restarts: supervisor.restarts.php_fpm,
        mariadb_restarts: supervisor.restarts.mariadb,
        nginx_restarts: supervisor.restarts.nginx,
        visitor_ok_pct: round((100 * pageResults.filter((p) => p.ok).length) / pageResults.length),
        visitor_p95_ms: Math.round(percentile(pageResults.map((p) => p.ms), 0.95)),
        visitor_pages: pageResults.length,
        visitor_answers: pageResults.reduce<Record<string, number>>((acc, p) => ({ ...acc, [p.answer]: (acc[p.answer] ?? 0) + 1 }), {}),
        visitor_ok_pct_last_third: (() => {
          const last = pageResults.slice(Math.floor((2 * pageResults.length) / 3));
          return last.length ? round((100 * last.filter((p) => p.ok).length) / last.length) : 0;
        })(),
        visitor_failed_at_s: pageResults.filter((p) => !p.ok).map((p) => round(p.at / 1000)),
        shield_up_s: shieldUpAt === null ? null : round((shieldUpAt - startedPerf) / 1000),
        attacker_php_by_s: (() => {
          const bySecond: number[] = [];
          for (const l of lines) {
            if (l.php !== 1 || !isBenchIp(l.cf)) continue;
            // nginx logs the end of the answer; its start is what the attack sent.
            const s = Math.max(0, Math.floor(l.t - l.rt - started / 1000));
            bySecond[s] = (bySecond[s] ?? 0) + 1;
          }
          return Array.from(bySecond, (n) => n ?? 0);
        })(),
        admin_login_ok_pct: round((100 * loginResults.filter(Boolean).length) / loginResults.length),
        admin_logins: loginResults.length,
        attacker_requests: attackCounts.requests ?? 0,
        attacker_php_requests: lines.filter((l) => l.php === 1 && isBenchIp(l.cf)).length,
        php_workers_max: workersMax,
      };
      console.error(`[bench] origin-survival ${attack} ${mode} run ${run + 1}: ${JSON.stringify(result)} attacker ${JSON.stringify(attackCounts)}`);
      return result;
    } finally {
      await story.close();
    }
  } finally {
    if (origin) await origin.stop().catch((e: Error) => console.error(`[bench] origin-survival: stop: ${e.message.split('\n')[0]}`));
    await group.remove();
  }
}

const medianKeys = ['oom_kills', 'peak_mb', 'php_fpm_restarts', 'mariadb_restarts', 'nginx_restarts', 'visitor_ok_pct', 'visitor_ok_pct_last_third', 'visitor_p95_ms', 'admin_login_ok_pct', 'attacker_requests', 'attacker_php_requests', 'php_workers_max'] as const;

function summarise(runs: SurvivalRun[]) {
  const out: Record<string, unknown> = {};
  for (const key of medianKeys) out[key] = median(runs.map((r) => r[key]));
  out.per_run = Object.fromEntries(medianKeys.map((key) => [key, runs.map((r) => r[key])]));
  out.oom_victims_per_run = runs.map((r) => r.oom_victims);
  out.visitor_answers_per_run = runs.map((r) => r.visitor_answers);
  out.visitor_failed_at_s_per_run = runs.map((r) => r.visitor_failed_at_s);
  out.shield_up_s_per_run = runs.map((r) => r.shield_up_s);
  return out;
}

export async function originSurvivalSection(options: SurvivalOptions) {
  const worker = await measureWorker(options.limitMb);
  const maxChildren = options.maxChildren ?? sizeMaxChildren(options.limitMb, worker);
  const concurrency = options.concurrency ?? Math.ceil(1.5 * maxChildren);
  console.error(`[bench] origin-survival: php-fpm worker ${JSON.stringify(worker)}; pm.max_children ${maxChildren}; attack concurrency ${concurrency}`);
  const o = { seconds: options.seconds, limitMb: options.limitMb, maxChildren, concurrency };
  const results: Record<string, { off: unknown; on: unknown }> = {};
  const byRun: Record<string, Record<Mode, SurvivalRun[]>> = {};
  const modes = options.modes ?? MODES;
  for (const attack of options.attacks) byRun[attack] = { off: [], on: [] };
  for (let r = 0; r < options.runs; r++) {
    for (const attack of options.attacks) {
      for (const mode of modes) byRun[attack]![mode].push(await runOnce(attack, mode, r, o));
    }
  }
  for (const attack of options.attacks) {
    results[attack] = Object.fromEntries(modes.map((mode) => [mode, summarise(byRun[attack]![mode])])) as { off: unknown; on: unknown };
  }
  return {
    origin_survival: {
      ...results,
      setup: {
        cgroup: worker.cgroup,
        limit_mb: options.limitMb,
        seconds: options.seconds,
        runs: options.runs,
        php_pm: 'dynamic',
        php_max_children: maxChildren,
        php_start_servers: Number(POOL.E2E_PHP_START_SERVERS),
        php_min_spare: Number(POOL.E2E_PHP_MIN_SPARE),
        php_max_spare: Number(POOL.E2E_PHP_MAX_SPARE),
        php_worker_rss_mb: worker.rss_mb,
        php_worker_private_mb: worker.private_mb,
        php_worker_pss_mb: worker.pss_mb,
        attack_concurrency: concurrency,
        measured_at: new Date().toISOString(),
      },
    },
  };
}
