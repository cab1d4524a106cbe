import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'disallow',
  summary: 'take a range off the runtime allowlist',
  positionals: [{ name: 'cidr', description: 'the range, as it was allowlisted or in its canonical spelling' }],
  run: ({ args, config, out }) =>
    withCore(config, (core) => {
      // Not parsed first: an entry stored by an older version under a spelling the parser now refuses must still be removable.
      if (!core.removeAllowlist(args.cidr!, 'admin:cli')) throw new CommandFailed(`${args.cidr} is not on the runtime allowlist (\`edgejail allowlist\` shows it)`);
      out.line(`removed ${args.cidr}`);
      return 0;
    }),
});
