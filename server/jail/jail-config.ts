// The `jails` config section: fail2ban's knobs under fail2ban's names, so a hosting admin
// can carry their intuition over. Users' jails merge over DEFAULT_JAILS, so a site is
// protected with zero config and one line (`wordpress: { enabled: false }`) turns a default off.
import { z } from 'zod';
import { banDurationCapMessage, durationSchema, MAX_BAN_SECONDS } from '../config/duration.ts';
import { EVENT_TYPES } from '../contract/events.ts';

/** The jail name the service uses for bans an admin placed by hand (see engine observeBan). */
export const MANUAL_JAIL = 'manual';
/** A jail whose event_types is exactly this counts bans from other jails, like fail2ban's recidive. */
export const BAN_EVENT = 'ban';

// zod's own message for a missing key is "Invalid input"; say what is wanted instead.
const required = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required (${what})` : undefined),
});

const positiveDuration = z
  .union([z.number(), z.string()], {
    error: (issue) =>
      issue.input === undefined ? 'is required (a duration such as "10m" or 600)' : 'must be a duration: seconds or 90s, 10m, 1h, 7d',
  })
  .pipe(durationSchema)
  .pipe(z.number().positive({ message: 'must be longer than 0' }));

/** bantime and maxtime: every ban stays under the same cap as a manual one. */
const banLength = positiveDuration.refine((seconds) => seconds <= MAX_BAN_SECONDS, { error: (issue) => banDurationCapMessage(issue.input as number) });

// An array [1, 2, 4] or, as fail2ban writes it, one string "1 2 4 8".
const multipliersSchema = z
  .union([z.string(), z.array(z.number())], { error: 'must be a list of positive numbers like [1, 2, 4] or "1 2 4"' })
  .transform((value, ctx) => {
    const numbers = typeof value === 'string' ? value.trim().split(/[\s,]+/).filter(Boolean).map(Number) : value;
    if (numbers.length === 0 || numbers.some((n) => !Number.isFinite(n) || n <= 0)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a list of positive numbers like "1 2 4 8"` });
      return z.NEVER;
    }
    return numbers;
  });

const bantimeIncrementSchema = z.strictObject({
  // Writing the section at all means you want it; a jail without the section has it off.
  enabled: z.boolean().default(true),
  /** bantime × factor^n, n = previous bans. */
  factor: z.number().min(1, { message: 'must be at least 1 (bans never get shorter)' }).default(2),
  /** bantime × multipliers[min(n, len−1)]; replaces factor when given. */
  multipliers: multipliersSchema.optional(),
  maxtime: banLength.default(604_800),
  /** Up to this many seconds are added at random so a botnet cannot predict the release time. */
  rndtime: durationSchema.refine((seconds) => seconds <= MAX_BAN_SECONDS, { error: (issue) => banDurationCapMessage(issue.input as number) }).optional(),
  /** Count previous bans from every jail, not only this one. */
  overalljails: z.boolean().default(false),
});

const DISABLED_INCREMENT: z.output<typeof bantimeIncrementSchema> = { enabled: false, factor: 2, maxtime: 604_800, overalljails: false };

const jailSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    event_types: z
      .array(z.enum([...EVENT_TYPES, BAN_EVENT]), required('a list such as ["login_failed"]'))
      .min(1, { message: 'must list at least one event type' })
      .refine((types) => !types.includes(BAN_EVENT) || types.length === 1, {
        message: '"ban" (counting other jails\' bans, like recidive) cannot be mixed with event types',
      }),
    maxretry: z.number(required('a whole number ≥ 1')).int().min(1),
    findtime: positiveDuration,
    bantime: banLength,
    /** global: one count across every site (an attacker spraying 50 sites is seen as one); site: per site. */
    scope: z.enum(['global', 'site']).default('global'),
    /** A login_succeeded from the address forgives its failures for that username on that site. */
    forgive_on_success: z.boolean().default(true),
    bantime_increment: bantimeIncrementSchema.default(DISABLED_INCREMENT),
  })
  .superRefine((jail, ctx) => {
    if (jail.event_types[0] === BAN_EVENT && jail.scope === 'site') {
      ctx.addIssue({ code: 'custom', path: ['scope'], message: 'a jail counting bans works across all sites; use "global"' });
    }
    const inc = jail.bantime_increment;
    if (inc.enabled && inc.maxtime < jail.bantime) {
      ctx.addIssue({ code: 'custom', path: ['bantime_increment', 'maxtime'], message: `is shorter than bantime (${jail.bantime}s)` });
    }
  });

export type JailConfig = z.output<typeof jailSchema>;
export type JailConfigInput = z.input<typeof jailSchema>;
export type BantimeIncrement = z.output<typeof bantimeIncrementSchema>;

/** What protects a WordPress site before anyone writes a line of config. */
export const DEFAULT_JAILS: Readonly<Record<string, JailConfigInput>> = {
  wordpress: {
    event_types: ['login_failed', 'xmlrpc_login_failed', 'xmlrpc_multicall', 'app_password_failed', 'rest_auth_failed'],
    maxretry: 5,
    findtime: '10m',
    bantime: '1h',
    bantime_increment: { enabled: true, factor: 2, maxtime: '1w' },
  },
  // Trying a username the admin listed as never legitimate (admin, administrator, ...) is proof enough.
  blocked_username: { event_types: ['blocked_username'], maxretry: 1, findtime: '10m', bantime: '1d' },
  wordpress_probe: {
    event_types: ['user_enumeration', 'lostpassword_unknown_user', 'pingback'],
    maxretry: 20,
    findtime: '10m',
    bantime: '1h',
  },
  recidive: { event_types: [BAN_EVENT], maxretry: 5, findtime: '1d', bantime: '1w' },
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** User jails over the defaults, key by key (bantime_increment one level deeper); an empty entry keeps the default. */
function mergeOverDefaults(input: unknown): unknown {
  if (input === undefined || input === null) input = {};
  if (!isPlainObject(input)) return input;
  const merged: Record<string, unknown> = { ...DEFAULT_JAILS };
  for (const [name, user] of Object.entries(input)) {
    const base = DEFAULT_JAILS[name];
    if (!base || !(isPlainObject(user) || user === null)) {
      merged[name] = user;
      continue;
    }
    if (user === null) continue;
    const next: Record<string, unknown> = { ...base, ...user };
    if (isPlainObject(base.bantime_increment) && isPlainObject(user.bantime_increment)) {
      next.bantime_increment = { ...base.bantime_increment, ...user.bantime_increment };
    }
    merged[name] = next;
  }
  return merged;
}

const JAIL_NAME_RE = /^[a-z0-9_-]{1,64}$/;

/** Why a jail name is refused, or null. Checked here (not as a record key schema) so the message says why. */
function jailNameProblem(name: string): string | null {
  if (!JAIL_NAME_RE.test(name)) return 'jail names use only a-z, 0-9, "_" and "-" (at most 64)';
  if (name === MANUAL_JAIL) return `"${MANUAL_JAIL}" is reserved for bans placed by hand`;
  return null;
}

export const jailsConfigSchema = z.preprocess(
  mergeOverDefaults,
  z
    .record(z.string(), z.unknown())
    .superRefine((jails, ctx) => {
      for (const name of Object.keys(jails)) {
        const problem = jailNameProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      }
    })
    .pipe(z.record(z.string(), jailSchema)),
);
export type JailsConfig = z.output<typeof jailsConfigSchema>;

/** The defaults as the engine sees them (durations in seconds). */
export const DEFAULT_JAILS_CONFIG: JailsConfig = jailsConfigSchema.parse(undefined);
