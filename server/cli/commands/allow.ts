import { parseCidr } from '../../jail/ip.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'allow',
  summary: 'put a range on the runtime allowlist: never counted, never banned',
  positionals: [{ name: 'cidr', description: 'an IP address or CIDR range, e.g. 198.51.100.0/24' }],
  options: { note: { type: 'string', value: 'text', joinsWords: true, description: 'whose range this is; the words up to the next option are kept' } },
  examples: ['edgejail allow 198.51.100.0/24 --note office VPN'],
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      if (!parseCidr(args.cidr!)) throw new CommandFailed(`"${args.cidr}" is not an IP address or CIDR range`);
      core.addAllowlist(args.cidr!, options.note?.trim() || null, 'admin:cli');
      out.line(`allowlisted ${args.cidr}`);
      return 0;
    }),
});
