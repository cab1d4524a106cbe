// A private, real fail2ban-server for the tests: its own config dir, socket, pid file,
// database and log in a temp dir, one polling jail on a log file the test writes, and the
// shipped contrib action. Nothing here touches the system's fail2ban.
import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { ROOT } from '../support/process.ts';

const run = promisify(execFile);

/** Installs Debian's fail2ban when missing (scripts/fail2ban-deps.sh); throws with the script's output when it cannot. */
export function ensureFail2ban(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts/fail2ban-deps.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/fail2ban-deps.sh failed: ${r.stdout}${r.stderr}`);
}

export interface JailSpec {
  name: string;
  maxretry?: number;
  bantime?: number;
  /** The action line; default none (fail2ban only records bans in its database). */
  action?: string;
  /** More `key = value` lines for the jail. */
  extra?: string[];
}

export interface Fail2ban {
  dir: string;
  dbfile: string;
  logOf(jail: string): string;
  /** A failure line the jails' filter matches. */
  fail(jail: string, ip: string): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  client(...args: string[]): Promise<string>;
  serverLog(): string;
}

// One line a jail counts, in WP fail2ban's words; {NONE}: the time is when fail2ban reads it.
const FILTER = `[Definition]
failregex = ^Authentication failure for \\S+ from <HOST>$
datepattern = {NONE}
`;

export function createFail2ban(dir: string, jails: JailSpec[]): Fail2ban {
  const conf = join(dir, 'conf');
  mkdirSync(join(conf, 'filter.d'), { recursive: true });
  mkdirSync(join(conf, 'action.d'), { recursive: true });
  const socket = join(dir, 'f2b.sock');
  const pidfile = join(dir, 'f2b.pid');
  const dbfile = join(dir, 'fail2ban.sqlite3');
  const logfile = join(dir, 'fail2ban.log');
  writeFileSync(
    join(conf, 'fail2ban.conf'),
    `[Definition]\nloglevel = INFO\nlogtarget = ${logfile}\nsocket = ${socket}\npidfile = ${pidfile}\ndbfile = ${dbfile}\ndbpurgeage = 1d\n`,
  );
  writeFileSync(join(conf, 'filter.d/edgejail-test.conf'), FILTER);
  symlinkSync(join(ROOT, 'contrib/fail2ban/action.d/edgejail.conf'), join(conf, 'action.d/edgejail.conf'));
  const logOf = (jail: string) => join(dir, `${jail}.log`);
  writeFileSync(
    join(conf, 'jail.conf'),
    jails
      .map((j) => {
        writeFileSync(logOf(j.name), '');
        return [
          `[${j.name}]`,
          'enabled = true',
          'backend = polling',
          `logpath = ${logOf(j.name)}`,
          'filter = edgejail-test',
          `maxretry = ${j.maxretry ?? 2}`,
          'findtime = 600',
          `bantime = ${j.bantime ?? 3600}`,
          `action = ${j.action ?? ''}`,
          ...(j.extra ?? []),
          '',
        ].join('\n');
      })
      .join('\n'),
  );
  const base = ['-c', conf, '-s', socket, '-p', pidfile];
  const client = async (...args: string[]) => (await run('fail2ban-client', [...base, ...args], { encoding: 'utf8' })).stdout;
  return {
    dir,
    dbfile,
    logOf,
    fail: (jail, ip) => appendFileSync(logOf(jail), `Authentication failure for admin from ${ip}\n`),
    client,
    async start() {
      await client('-x', 'start');
    },
    async stop() {
      if (!existsSync(socket)) return;
      await client('stop').catch(() => undefined);
    },
    serverLog: () => (existsSync(logfile) ? readFileSync(logfile, 'utf8') : ''),
  };
}

/** Polls until `check` returns a value other than undefined/false; the machine is loaded, so no deadline but the test's timeout. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, intervalMs = 100): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A row of fail2ban's own `bans` table: one per ban it made, with the bantime it chose. */
export interface Fail2banBanRow { jail: string; ip: string; timeofban: number; bantime: number; bancount: number }

/** fail2ban's record of its bans, oldest first (none before it has created its tables). */
export function fail2banBans(f2b: Fail2ban): Fail2banBanRow[] {
  if (!existsSync(f2b.dbfile)) return [];
  const db = new Database(f2b.dbfile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT jail, ip, timeofban, bantime, bancount FROM bans ORDER BY rowid').all() as Fail2banBanRow[];
  } catch {
    return []; // fail2ban has not created its tables yet
  } finally {
    db.close();
  }
}
