// Row 7: the same attack against Debian's fail2ban. (a) fail2ban-regex over an nginx access
// log of failed wp-login.php POSTs (lines/s, to set against EdgeJail's ingest events/s);
// (b) a private fail2ban-server (own socket, pid file, database; pyinotify backend) watching
// a live log with a jail whose action only writes a timestamp: time from the maxretry-th
// log line to the ban action, set against EdgeJail's event → rule-at-Cloudflare latency
// measured in the same section.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../test/support/process.ts';
import { sleep, waitFor } from '../../test/e2e/support/poll.ts';
import { ensurePackages } from '../lib/apt.ts';
import { benchIp } from '../lib/events.ts';
import { median, percentile, round } from '../lib/stats.ts';
import { measureBanLatency } from './ban-latency.ts';

const MAXRETRY = 5;
// In the style of Debian's own access-log filters (apache-badbots): a POST to wp-login.php
// answered 200 is the login form shown again, i.e. a failed login (success is a 302).
export const FILTER = `[Definition]
failregex = ^<HOST> -[^"]*"POST /wp-login\\.php HTTP/\\d(?:\\.\\d+)?" 200 
ignoreregex =
datepattern = ^[^\\[]*\\[({DATE})
`;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');
/** nginx's "combined" format, as a real access log holds the attack. */
export function accessLine(ip: string, at = new Date()): string {
  const t = `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;
  return `${ip} - - [${t}] "POST /wp-login.php HTTP/1.1" 200 4327 "-" "Mozilla/5.0 (compatible; bot)"\n`;
}

function writeConfig(dir: string): void {
  mkdirSync(join(dir, 'filter.d'), { recursive: true });
  mkdirSync(join(dir, 'action.d'), { recursive: true });
  writeFileSync(join(dir, 'filter.d/wp-login.conf'), FILTER);
  writeFileSync(
    join(dir, 'fail2ban.conf'),
    `[Definition]\nloglevel = INFO\nlogtarget = ${dir}/fail2ban.log\nsyslogsocket = auto\nsocket = ${dir}/f2b.sock\npidfile = ${dir}/f2b.pid\ndbfile = ${dir}/f2b.sqlite3\ndbpurgeage = 1d\nallowipv6 = auto\n`,
  );
  // The action fail2ban runs instead of iptables/nftables: one timestamped line per ban.
  writeFileSync(
    join(dir, 'action.d/stamp.conf'),
    `[Definition]\nactionstart =\nactionstop =\nactioncheck =\nactionban = echo "<ip> $(date +%%s.%%N)" >> ${dir}/bans.log\nactionunban =\n`,
  );
  writeFileSync(
    join(dir, 'jail.conf'),
    `[DEFAULT]\nbackend = pyinotify\nusedns = no\n\n[wp-login]\nenabled = true\nfilter = wp-login\nlogpath = ${dir}/live.log\nmaxretry = ${MAXRETRY}\nfindtime = 600\nbantime = 3600\naction = stamp\n`,
  );
}

/** Seconds fail2ban-regex takes over a log of `lines` failed-login lines, checked to match them all. */
function regexSeconds(dir: string, lines: number): number {
  const log = join(dir, 'attack.log');
  const now = new Date();
  const chunk: string[] = [];
  writeFileSync(log, '');
  for (let i = 0; i < lines; i++) {
    chunk.push(accessLine(benchIp(i % 5_000), now));
    if (chunk.length === 10_000) appendFileSync(log, chunk.splice(0).join(''));
  }
  appendFileSync(log, chunk.join(''));
  const started = process.hrtime.bigint();
  const r = spawnSync('fail2ban-regex', ['--print-no-missed', log, join(dir, 'filter.d/wp-login.conf')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`fail2ban-regex exited ${r.status}: ${r.stderr || r.stdout}`);
  const matched = Number(/Lines: \d+ lines, \d+ ignored, (\d+) matched/.exec(r.stdout)?.[1] ?? -1);
  if (matched !== lines) throw new Error(`fail2ban-regex matched ${matched} of ${lines} lines:\n${r.stdout.slice(-1500)}`);
  return seconds;
}

/** Lines in the short run whose time is fail2ban-regex's start-up and report, not its matching. */
const REGEX_STARTUP_LINES = 1_000;

/**
 * (a) fail2ban-regex's rate once running: the lines beyond a short run's over the time
 * beyond it, so that Python's start-up, the filter's compilation and the final report are
 * left out, as EdgeJail's rows leave out its compiler's warm-up (bench/sections/ingest.ts).
 * The whole run's rate, start-up in it, is kept beside it.
 */
function regexRates(dir: string, lines: number): { steady: number; wall: number; startupSeconds: number } {
  const short = regexSeconds(dir, REGEX_STARTUP_LINES);
  const long = regexSeconds(dir, lines);
  return { steady: (lines - REGEX_STARTUP_LINES) / (long - short), wall: lines / long, startupSeconds: short };
}

function client(dir: string, ...args: string[]) {
  return spawnSync('fail2ban-client', ['-c', dir, '-s', join(dir, 'f2b.sock'), ...args], { encoding: 'utf8' });
}

/** (b) maxretry-th line appended → the jail's action ran, for `samples` addresses one at a time. */
async function fail2banBanLatencies(dir: string, samples: number): Promise<number[]> {
  const live = join(dir, 'live.log');
  const bans = join(dir, 'bans.log');
  writeFileSync(live, '');
  rmSync(bans, { force: true });
  rmSync(join(dir, 'f2b.sqlite3'), { force: true });
  const server: ChildProcess = spawn('fail2ban-server', ['-f', '-x', '-c', dir, '-s', join(dir, 'f2b.sock'), '-p', join(dir, 'f2b.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitFor('fail2ban-server to start the wp-login jail', () => {
      if (server.exitCode !== null) throw new Error(`fail2ban-server exited ${server.exitCode}: ${stderr}`);
      return client(dir, 'status', 'wp-login').status === 0;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const ip = benchIp(40_000 + i);
      for (let k = 1; k < MAXRETRY; k++) appendFileSync(live, accessLine(ip));
      await sleep(50); // the earlier failures are read before the one that crosses maxretry
      const started = Date.now();
      appendFileSync(live, accessLine(ip));
      const stamp = await waitFor(`fail2ban to ban ${ip}`, () => {
        if (!existsSync(bans)) return null;
        const line = readFileSync(bans, 'utf8').split('\n').find((l) => l.startsWith(`${ip} `));
        return line ? Number(line.split(' ')[1]) * 1000 : null;
      }, { timeoutMs: 30_000, intervalMs: 1 });
      latencies.push(stamp - started);
      await sleep(250);
    }
    return latencies;
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once('exit', resolve)));
  }
}

export async function fail2banSection(runs: number, lines: number, samples: number) {
  ensurePackages(['fail2ban', 'python3-pyinotify']);
  const dir = join(ROOT, '.tmp/bench-fail2ban');
  rmSync(dir, { recursive: true, force: true });
  writeConfig(dir);
  const regexRuns: number[] = [];
  const regexWall: number[] = [];
  const regexStartup: number[] = [];
  const f2bP50: number[] = [];
  const f2bP99: number[] = [];
  const ejP50: number[] = [];
  const ejP99: number[] = [];
  for (let r = 0; r < runs; r++) {
    const rates = regexRates(dir, lines);
    regexRuns.push(rates.steady);
    regexWall.push(rates.wall);
    regexStartup.push(rates.startupSeconds);
    const f2b = await fail2banBanLatencies(dir, samples);
    f2bP50.push(percentile(f2b, 0.5));
    f2bP99.push(percentile(f2b, 0.99));
    const ej = await measureBanLatency('access_rules', samples, 50_000 + r * samples);
    ejP50.push(ej.p50_ms);
    ejP99.push(ej.p99_ms);
    console.error(`[bench] fail2ban run ${r + 1}: regex ${Math.round(regexRuns.at(-1)!)} lines/s, ban p50 ${round(f2bP50.at(-1)!)} ms vs EdgeJail ${ej.p50_ms} ms`);
  }
  return {
    fail2ban_regex_lines_per_s: Math.round(median(regexRuns)),
    fail2ban_regex_lines_per_s_wall: Math.round(median(regexWall)),
    fail2ban_regex_startup_seconds: round(median(regexStartup), 2),
    fail2ban_regex_lines: lines,
    fail2ban_ban_latency_ms: round(median(f2bP50)),
    fail2ban_ban_latency_p99_ms: round(median(f2bP99)),
    edgejail_ban_latency_ms: round(median(ejP50)),
    edgejail_ban_latency_p99_ms: round(median(ejP99)),
    fail2ban_backend: 'pyinotify',
  };
}
