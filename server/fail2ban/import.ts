// `edgejail import fail2ban [db] [--jails a,b] [--dry-run]`: fail2ban's ban database into
// EdgeJail. Still-running bans are enforced with their real end and ban count (so escalation
// carries over); ended ones are kept as history. fail2ban's file is opened read-only: it is
// not our store, and a running fail2ban may be writing it.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { EXTERNAL_JAIL_RE } from '../contract/admin.ts';
import { MAX_BAN_SECONDS } from '../config/duration.ts';
import type { Core } from '../core.ts';

import { escapeForTerminal } from '../shared/terminal.ts';

export const DEFAULT_FAIL2BAN_DB = '/var/lib/fail2ban/fail2ban.sqlite3';

/** One row of fail2ban's `bans` table (one per ban it placed, kept until its dbpurgeage). */
const fail2banBanSchema = z.object({
  jail: z.string(),
  ip: z.string(),
  timeofban: z.number().int(),
  /** Seconds; -1 = for ever. */
  bantime: z.number(),
  bancount: z.number().int().min(1).catch(1),
});
export type Fail2banBan = z.infer<typeof fail2banBanSchema>;

export class Fail2banImportError extends Error {}

export function readFail2banBans(path: string): Fail2banBan[] {
  if (!existsSync(path)) throw new Fail2banImportError(`${path} does not exist (fail2ban's dbfile, see fail2ban-client get dbfile)`);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new Fail2banImportError(`cannot open ${path}: ${(error as Error).message}`);
  }
  try {
    const rows = db.prepare('SELECT jail, ip, timeofban, bantime, bancount FROM bans ORDER BY timeofban').all();
    return rows.map((row, i) => {
      const parsed = fail2banBanSchema.safeParse(row);
      if (!parsed.success) throw new Fail2banImportError(`${path}: bans row ${i + 1} is not a fail2ban ban (${parsed.error.issues[0]?.message})`);
      return parsed.data;
    });
  } catch (error) {
    if (error instanceof Fail2banImportError) throw error;
    throw new Fail2banImportError(`${path} is not a fail2ban database: ${(error as Error).message}`);
  } finally {
    db.close();
  }
}

export type PlanOutcome = 'active' | 'history' | 'present' | 'protected' | 'invalid';

export interface JailSummary {
  jail: string;
  read: number;
  active: number;
  history: number;
  present: number;
  skipped: number;
}

export interface ImportResult {
  summaries: JailSummary[];
  /** Why rows were skipped, one line each (bounded). */
  skippedReasons: string[];
}

const MAX_REASONS = 20;

/** Plans (dryRun) or performs the import; idempotent either way. */
export function importFail2banBans(core: Core, bans: Fail2banBan[], options: { jails?: string[]; dryRun: boolean; nowMs?: number }): ImportResult {
  const nowMs = options.nowMs ?? Date.now();
  const wanted = options.jails ? new Set(options.jails) : null;
  const summaries = new Map<string, JailSummary>();
  const skippedReasons: string[] = [];
  const skip = (summary: JailSummary, why: string) => {
    summary.skipped++;
    if (skippedReasons.length < MAX_REASONS) skippedReasons.push(why);
  };
  for (const row of bans) {
    if (wanted && !wanted.has(row.jail)) continue;
    let summary = summaries.get(row.jail);
    if (!summary) summaries.set(row.jail, (summary = { jail: row.jail, read: 0, active: 0, history: 0, present: 0, skipped: 0 }));
    summary.read++;
    const jail = `fail2ban:${row.jail}`;
    if (!EXTERNAL_JAIL_RE.test(jail)) {
      skip(summary, `jail ${JSON.stringify(row.jail)}: not a name EdgeJail keeps (letters, digits, _ . @ -)`);
      continue;
    }
    const verdict = core.judgeAddress(row.ip);
    if (!verdict) {
      skip(summary, `${JSON.stringify(row.ip)} in ${row.jail}: not an IP address (fail2ban bans of hosts or ranges are not imported)`);
      continue;
    }
    if (verdict.protectedBy) {
      skip(summary, `${verdict.ip} in ${row.jail}: protected (${verdict.protectedBy}); EdgeJail never bans it`);
      continue;
    }
    // -1 is fail2ban's "for ever": EdgeJail's cap on every ban, counted from the ban.
    const seconds = row.bantime < 0 || row.bantime > MAX_BAN_SECONDS ? MAX_BAN_SECONDS : Math.round(row.bantime);
    const startedAtMs = row.timeofban * 1000;
    const input = {
      ipKey: verdict.ipKey,
      jail,
      reason: `imported from fail2ban jail ${row.jail} (ban #${row.bancount})`,
      banCount: row.bancount,
      startedAtMs,
      expiresAtMs: startedAtMs + seconds * 1000,
      actor: 'admin:cli',
    };
    const outcome = options.dryRun ? planOne(core, input, nowMs) : core.bans.importBan(input).outcome;
    summary[outcome]++;
  }
  return { summaries: [...summaries.values()], skippedReasons };
}

function planOne(core: Core, input: { ipKey: string; jail: string; startedAtMs: number; expiresAtMs: number }, nowMs: number): 'active' | 'history' | 'present' {
  const created = new Date(input.startedAtMs).toISOString();
  const expires = new Date(input.expiresAtMs).toISOString();
  if (core.store.bansForIpKey(input.ipKey).some((b) => b.jail === input.jail && (b.created_at === created || b.expires_at === expires))) return 'present';
  return input.expiresAtMs > nowMs ? 'active' : 'history';
}

/** What a foreign database could smuggle into a terminal (escape sequences, newlines, bidi), escaped. */
export const terminalSafe = escapeForTerminal;

export function formatSummary(result: ImportResult, dryRun: boolean): string[] {
  const columns = ['jail', 'read', 'active', 'history', 'present', 'skipped'] as const;
  const total: JailSummary = { jail: 'total', read: 0, active: 0, history: 0, present: 0, skipped: 0 };
  for (const s of result.summaries) for (const c of columns.slice(1)) (total[c as Exclude<typeof c, 'jail'>] as number) += s[c as Exclude<typeof c, 'jail'>];
  const rows = [...result.summaries, total].map((s) => columns.map((c) => (c === 'jail' ? terminalSafe(String(s[c])) : String(s[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [
    dryRun ? 'dry run: nothing written. What an import would do:' : 'imported from fail2ban:',
    line(columns),
    ...rows.map(line),
    'active: still running, now enforced; history: already ended, kept for escalation; present: imported before',
    ...result.skippedReasons.map((r) => `skipped: ${terminalSafe(r)}`),
  ];
}

/** The CLI command; `args` are the words after `import`. */
export function runImportCommand(core: Core, args: string[], flags: Map<string, string | true>, io: { print: (line: string) => void; fail: (message: string) => number }): number {
  const [source, path = DEFAULT_FAIL2BAN_DB, extra] = args;
  if (source !== 'fail2ban' || extra !== undefined) return io.fail('usage: edgejail import fail2ban [/var/lib/fail2ban/fail2ban.sqlite3] [--jails a,b] [--dry-run]');
  const jailsFlag = flags.get('jails');
  if (jailsFlag === true) return io.fail('--jails needs a comma-separated list of fail2ban jail names');
  const jails = jailsFlag?.split(',').map((j) => j.trim()).filter(Boolean);
  const dryRun = flags.has('dry-run');
  let bans: Fail2banBan[];
  try {
    bans = readFail2banBans(path);
  } catch (error) {
    if (error instanceof Fail2banImportError) return io.fail(terminalSafe(error.message));
    throw error;
  }
  const result = importFail2banBans(core, bans, { jails, dryRun });
  if (jails) {
    const found = new Set(result.summaries.map((s) => s.jail));
    const missing = jails.filter((j) => !found.has(j));
    if (missing.length) io.print(`no bans in fail2ban's database for: ${missing.map(terminalSafe).join(', ')}`);
  }
  for (const line of formatSummary(result, dryRun)) io.print(line);
  return 0;
}
