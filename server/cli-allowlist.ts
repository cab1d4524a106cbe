// `edgejail allow | disallow | allowlist`: the allowlist from a shell. Allowing lifts every
// ban the entry covers through the ban service (so the outbox tells Cloudflare), and the
// running service picks the new entry up from the database within a second.
import type { Core } from './core.ts';
import { AllowlistEntryError } from './jail/allowlist-entry.ts';

export interface AllowlistCommand {
  command: 'allow' | 'disallow' | 'allowlist';
  /** The address or range of allow/disallow. */
  target?: string;
  note?: string;
  force: boolean;
  json: boolean;
}

export interface CommandIo {
  out: (line: string) => void;
  /** Reports a failure; returns the exit code to end with. */
  fail: (message: string) => number;
}

export const ALLOWLIST_USAGE = `  allow <cidr> [--note <text>] [--force]  never count or ban this range; lifts the bans it covers
  disallow <cidr>                     remove a runtime allowlist entry
  allowlist [--json]                  list the allowlist (config and runtime entries)`;

export function runAllowlistCommand(core: Core, input: AllowlistCommand, io: CommandIo): number {
  if (input.command === 'allowlist') return listAllowlist(core, input.json, io);
  if (!input.target) return io.fail(`${input.command} needs an IP address or CIDR range\n${ALLOWLIST_USAGE}`);
  if (input.command === 'disallow') {
    return core.removeAllowlist(input.target, 'admin:cli') ? (io.out(`removed ${input.target}`), 0) : io.fail(`${input.target} is not on the runtime allowlist`);
  }
  let added: ReturnType<Core['addAllowlist']>;
  try {
    added = core.addAllowlist(input.target, input.note ?? null, 'admin:cli', { force: input.force });
  } catch (error) {
    if (!(error instanceof AllowlistEntryError)) throw error;
    return io.fail(error.code === 'allowlist_too_wide' ? `${error.message} Add --force if that is really meant.` : error.message);
  }
  const keys = [...new Set(added.lifted.map((ban) => ban.ip_key))];
  if (input.json) {
    io.out(JSON.stringify({ cidr: added.cidr, lifted: added.lifted.length, lifted_ip_keys: keys }));
    return 0;
  }
  io.out(`allowlisted ${added.cidr}${added.cidr !== input.target.trim() ? ` (from ${input.target.trim()})` : ''}`);
  if (keys.length) io.out(`lifted ${added.lifted.length} ban${added.lifted.length === 1 ? '' : 's'} on ${keys.join(', ')}`);
  return 0;
}

function listAllowlist(core: Core, json: boolean, io: CommandIo): number {
  const entries = core.allowlistEntries();
  if (json) {
    io.out(JSON.stringify(entries, null, 2));
    return 0;
  }
  const rows = [
    ...entries.runtime.map((e) => ({ cidr: e.cidr, source: 'runtime', note: e.note ?? '', added: `${e.created_at} by ${e.created_by}` })),
    ...entries.config.map((cidr) => ({ cidr, source: 'config', note: '', added: '' })),
  ];
  if (!rows.length) {
    io.out('(none)');
    return 0;
  }
  const columns = ['cidr', 'source', 'note', 'added'] as const;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  io.out(columns.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const row of rows) io.out(columns.map((c, i) => row[c].padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}
