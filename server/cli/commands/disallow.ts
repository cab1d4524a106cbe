import { parseCidr } from '../../jail/ip.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'disallow',
  summary: 'take a range off the runtime allowlist',
  positionals: [{ name: 'cidr', description: 'the range as it was allowlisted' }],
  run: ({ args, config, out }) =>
    withCore(config, (core) => {
      if (!parseCidr(args.cidr!)) throw new CommandFailed(`"${args.cidr}" is not an IP address or CIDR range`);
      if (!core.removeAllowlist(args.cidr!, 'admin:cli')) throw new CommandFailed(`${args.cidr} is not on the runtime allowlist`);
      out.line(`removed ${args.cidr}`);
      return 0;
    }),
});
