// Durations as a hosting admin writes them in fail2ban: plain seconds or 90s, 10m, 1h, 7d, 2w.
import { z } from 'zod';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$/i;

/** Parses a duration to whole seconds; returns null when the text is not a duration. */
export function parseDurationSeconds(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input) : null;
  const match = DURATION_RE.exec(input.trim());
  if (!match) return null;
  const unit = (match[2] ?? 's').toLowerCase();
  return Math.round(Number(match[1]) * (UNIT_SECONDS[unit] ?? 1));
}

/**
 * The longest ban EdgeJail places (fail2ban's maxtime, for every path): a year. Past it a
 * ban is a firewall rule, not a jail, and times far enough out leave the ISO-8601 range
 * that SQLite and the enforcer compare ("+011533-…" sorts before "2026-…").
 */
export const MAX_BAN_SECONDS = 365 * 86_400;

/** "must be at most 365d (the maxtime cap on every ban)": names the cap a person hit. */
export const banDurationCapMessage = (seconds: number) =>
  `${formatDuration(seconds)} is longer than the ${formatDuration(MAX_BAN_SECONDS)} cap (maxtime) on every ban`;

/** zod field: accepts 3600 or "1h", yields seconds. */
export const durationSchema = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const seconds = parseDurationSeconds(value);
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `"${String(value)}" is not a duration (use seconds or 90s, 10m, 1h, 7d)` });
      return z.NEVER;
    }
    return seconds;
  });

export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** zod field for a ban's length: a duration of at most MAX_BAN_SECONDS. */
export const banDurationSchema = durationSchema.superRefine((seconds, ctx) => {
  if (seconds > MAX_BAN_SECONDS) ctx.addIssue({ code: 'custom', message: banDurationCapMessage(seconds) });
});
