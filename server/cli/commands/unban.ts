import { CommandFailed, defineCommand } from '../command.ts';
import { needIp, withCore } from '../context.ts';

export default defineCommand({
  name: 'unban',
  summary: 'lift every active ban on an IP (here and at Cloudflare)',
  positionals: [{ name: 'ip', description: 'the address (or, for IPv6, any address in the banned prefix)' }],
  run: ({ args, config, out }) =>
    withCore(config, (core) => {
      const { ipKey } = needIp(args.ip!, config);
      const lifted = core.bans.unban(ipKey, 'admin:cli');
      if (!lifted.length) throw new CommandFailed(`${ipKey} has no active ban`);
      out.line(`unbanned ${ipKey} (${lifted.length} ban${lifted.length > 1 ? 's' : ''} lifted)`);
      return 0;
    }),
});
