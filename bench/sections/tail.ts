// Issue 15: `edgejail tail` against fail2ban-regex, one after the other in the same run, on
// the same generated nginx access log (1,000,000 lines by default): failed wp-login.php POSTs
// from 5,000 addresses, with a page view between them. fail2ban-regex only matches lines
// against the wp-login filter; the tailer parses them and takes each event through the whole
// ingest path (event rows in SQLite, the jails, bans), so it does strictly more per line.
// The tailer runs in this process (the code `edgejail tail` and the `tail:` section run).
// Each side's CPU time (user + system, every thread) is recorded too: on a shared machine
// lines per CPU-second compare the two far more steadily than wall-clock lines per second.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../test/support/process.ts';
import { ensurePackages } from '../lib/apt.ts';
import { benchIp } from '../lib/events.ts';
import { median } from '../lib/stats.ts';
import { accessLine, FILTER } from './fail2ban.ts';
import { buildApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config/load.ts';
import { createTailer } from '../../server/logtail/tail.ts';

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

/** Every tenth line a page view (ignored by both), the rest failed logins, all timed now. */
function writeLog(file: string, lines: number): number {
  const now = new Date();
  writeFileSync(file, '');
  let chunk: string[] = [];
  let logins = 0;
  for (let i = 0; i < lines; i++) {
    const ip = benchIp(i % 5_000);
    if (i % 10 === 9) chunk.push(accessLine(ip, now).replace('"POST /wp-login.php HTTP/1.1" 200', '"GET /2026/12/hello-world/ HTTP/1.1" 200'));
    else {
      chunk.push(accessLine(ip, now));
      logins++;
    }
    if (chunk.length === 10_000) {
      appendFileSync(file, chunk.join(''));
      chunk = [];
    }
  }
  appendFileSync(file, chunk.join(''));
  return logins;
}

interface Speed {
  perSecond: number;
  perCpuSecond: number;
}

function fail2banRegexSpeed(file: string, filter: string, lines: number, logins: number): Speed {
  const times = `${file}.time`;
  const started = process.hrtime.bigint();
  // GNU time writes the child's user and system seconds to its own file, apart from the output.
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', times, 'fail2ban-regex', '--print-no-missed', file, filter], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`fail2ban-regex exited ${r.status}: ${r.stderr || r.stdout}`);
  const matched = Number(/Lines: \d+ lines, \d+ ignored, (\d+) matched/.exec(r.stdout)?.[1] ?? -1);
  if (matched !== logins) throw new Error(`fail2ban-regex matched ${matched} of ${logins} failed logins:\n${r.stdout.slice(-1500)}`);
  const [user = NaN, system = NaN] = readFileSync(times, 'utf8').trim().split(/\s+/).map(Number);
  return { perSecond: lines / seconds, perCpuSecond: lines / (user + system) };
}

/** The tailer from the file's start to its end, over a fresh database; lines per second. */
async function tailSpeed(dir: string, file: string, lines: number, logins: number): Promise<Speed & { bans: number }> {
  const dataDir = join(dir, 'data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const config = loadConfig({ EDGEJAIL_DATA_DIR: dataDir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN }, { log_level: 'silent' });
  const app = await buildApp(config, { backgroundJobs: false });
  await app.ready();
  try {
    const site = { id: 'bench-tail-site', name: 'bench', secret: 'x'.repeat(64), created_at: new Date().toISOString() };
    app.core.store.insertSite(site);
    const tailer = createTailer(app.core, { site: app.core.store.siteById(site.id)!, files: [file], format: 'nginx', fromStart: true, log: () => undefined });
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    while (tailer.stats().lines < lines) {
      try {
        tailer.pollOnce();
      } catch (error) {
        // The checkpoint held the lock past busy_timeout: the poll is read again, as in the service.
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    const s = tailer.stats();
    tailer.close();
    if (s.events !== logins || s.unparsed !== 0) throw new Error(`the tailer made ${s.events} events of ${logins} failed logins (${s.unparsed} unreadable)`);
    return { perSecond: lines / seconds, perCpuSecond: lines / ((used.user + used.system) / 1e6), bans: s.bans };
  } finally {
    await app.close();
  }
}

export async function tailSection(runs: number, lines: number) {
  ensurePackages(['fail2ban', 'time']);
  const dir = join(ROOT, '.tmp/bench-tail');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const filter = join(dir, 'wp-login.conf');
  writeFileSync(filter, FILTER);
  const file = join(dir, 'access.log');
  const tail: Speed[] = [];
  const regex: Speed[] = [];
  let bans = 0;
  for (let r = 0; r < runs; r++) {
    // Written afresh each run: the lines' times stay within the jails' findtime.
    const logins = writeLog(file, lines);
    const t = await tailSpeed(dir, file, lines, logins);
    tail.push(t);
    bans = t.bans;
    const f = fail2banRegexSpeed(file, filter, lines, logins);
    regex.push(f);
    console.error(`[bench] tail run ${r + 1}: edgejail tail ${Math.round(t.perSecond)} lines/s, ${Math.round(t.perCpuSecond)} per CPU-s (${t.bans} bans); fail2ban-regex ${Math.round(f.perSecond)} lines/s, ${Math.round(f.perCpuSecond)} per CPU-s`);
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    tail_lines_per_s: Math.round(median(tail.map((t) => t.perSecond))),
    fail2ban_regex_tail_lines_per_s: Math.round(median(regex.map((f) => f.perSecond))),
    tail_lines_per_cpu_s: Math.round(median(tail.map((t) => t.perCpuSecond))),
    fail2ban_regex_tail_lines_per_cpu_s: Math.round(median(regex.map((f) => f.perCpuSecond))),
    tail_lines: lines,
    tail_bans: bans,
  };
}
