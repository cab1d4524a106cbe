import { CommandFailed, defineCommand } from '../command.ts';
import { needIpKey, withCore } from '../context.ts';

export default defineCommand({
  name: 'unban',
  summary: 'lift every active ban on an IP (here and at Cloudflare)',
  positionals: [{ name: 'ip', description: 'the address (for IPv6, any address in the banned prefix), or a banned prefix such as 2001:db8::/64' }],
  run: ({ args, config, out }) =>
    withCore(config, (core) => {
      const ipKey = needIpKey(core, args.ip!);
      const lifted = core.bans.unban(ipKey, 'admin:cli');
      if (!lifted.length) throw new CommandFailed(`${ipKey} has no active ban`);
      out.line(`unbanned ${ipKey} (${lifted.length} ban${lifted.length > 1 ? 's' : ''} lifted)`);
      return 0;
    }),
});
