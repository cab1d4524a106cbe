// `edgejail shield up|down|status`: a site's login shield by hand, on the service's database.
// A running service sees the change on its next batch.
import { formatDuration, parseDurationSeconds } from '../../config/duration.ts';
import { escapeForTerminal } from '../../shared/terminal.ts';
import { ShieldError } from '../../shield/shield-service.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

const MAX_REASON = 500;

/** The shield service's refusals (unknown site, not up) are the command's failures. */
function shieldCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ShieldError) throw new CommandFailed(error.message);
    throw error;
  }
}

// Usernames come from attackers: each value is escaped whole, so none can forge a line.
const v = (value: unknown) => escapeForTerminal(String(value));

export default [
  defineCommand({
    name: 'shield up',
    summary: 'raise a site\'s login shield (a Cloudflare challenge on its login), or extend it',
    positionals: [{ name: 'site', description: 'the site\'s id or name' }],
    options: {
      for: { type: 'string', value: 'duration', description: 'how long: 30m, 1h, 1d (default shield.bantime)' },
      reason: { type: 'string', value: 'text', joinsWords: true, description: 'why, for the audit log; the words up to the next option are kept' },
    },
    examples: ['edgejail shield up shop.example.com --for 2h --reason credential stuffing in the access log'],
    run: ({ args, options, config, out }) =>
      withCore(config, (core) => {
        const duration = options.for === undefined ? config.shield.bantime : parseDurationSeconds(options.for);
        if (!duration) throw new CommandFailed(`--for "${options.for}" is not a duration (e.g. 30m, 1h, 1d)`);
        const reason = options.reason?.trim().slice(0, MAX_REASON) || 'raised by hand';
        const { shield, extended } = shieldCall(() => core.shield.raise(args.site!, { durationSeconds: duration, reason, actor: 'admin:cli' }));
        out.line(`login shield ${extended ? 'extended' : 'up'} for ${v(shield.site_id)} until ${v(shield.expires_at)} (${formatDuration(duration)}): ${v(shield.reason)}`);
        return 0;
      }),
  }),
  defineCommand({
    name: 'shield down',
    summary: 'lower a site\'s login shield',
    positionals: [{ name: 'site', description: 'the site\'s id or name' }],
    run: ({ args, config, out }) =>
      withCore(config, (core) => {
        const shield = shieldCall(() => core.shield.lower(args.site!, 'admin:cli'));
        out.line(`login shield down for ${v(shield.site_id)} (it was up since ${v(shield.raised_at)}: ${v(shield.reason)})`);
        return 0;
      }),
  }),
  defineCommand({
    name: 'shield status',
    summary: 'every site\'s login shield, and what the detector counts now',
    options: { json: { type: 'boolean', description: 'print JSON' } },
    run: ({ options, config, out }) =>
      withCore(config, (core) => {
        const rows = core.shield.status();
        if (options.json) return out.json(rows), 0;
        if (!rows.length) return out.line('(no sites)'), 0;
        for (const r of rows) {
          const state = r.up ? `UP since ${v(r.since)} until ${v(r.until)} (${v(r.reason)}; by ${v(r.raised_by)})` : r.enabled ? 'down' : 'off (no zone; set shield.enabled or a zone)';
          const top = r.top_username ? `; '${v(r.top_username.username)}' from ${r.top_username.ips} IPs` : '';
          out.line(`${v(r.name)} (${v(r.site_id)})  zone ${v(r.zone_id ?? '-')}  host ${v(r.hostname ?? '-')}\n  ${state}\n  now: ${r.failures} failures from ${r.ips} IPs${top}`);
        }
        return 0;
      }),
  }),
];
