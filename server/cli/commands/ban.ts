import { formatDuration, parseDurationSeconds } from '../../config/duration.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { needIp, withCore } from '../context.ts';

const DEFAULT_SECONDS = 3600;

export default defineCommand({
  name: 'ban',
  summary: 'ban an IP by hand (an IPv6 address bans its prefix); extends an earlier manual ban',
  positionals: [{ name: 'ip', description: 'the IPv4 or IPv6 address to ban' }],
  options: {
    for: { type: 'string', value: 'duration', description: 'how long: 90s, 10m, 1h, 7d, 2w (default 1h)' },
    reason: { type: 'string', value: 'text', joinsWords: true, description: 'why, for the audit log; the words up to the next option are kept' },
  },
  examples: ['edgejail ban 203.0.113.9 --for 1d --reason seen probing xmlrpc.php in the access log'],
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      const { ip, ipKey, protectedBy } = needIp(core, args.ip!);
      if (protectedBy) throw new CommandFailed(`${ip} is protected (${protectedBy}); EdgeJail never bans it`);
      const duration = options.for === undefined ? DEFAULT_SECONDS : parseDurationSeconds(options.for);
      if (!duration) throw new CommandFailed(`--for "${options.for}" is not a duration (e.g. 90s, 10m, 1h, 7d)`);
      const reason = options.reason?.trim() || 'manual ban';
      const { ban, extended } = core.bans.manualBan({ ipKey, durationSeconds: duration, reason, actor: 'admin:cli' });
      out.line(`${extended ? 'extended' : 'banned'} ${ipKey} until ${ban.expires_at} (${formatDuration(duration)}, ban #${ban.id})`);
      return 0;
    }),
});
