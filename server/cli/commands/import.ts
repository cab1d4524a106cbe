// `edgejail import fail2ban`: fail2ban's ban database into EdgeJail; the work is in fail2ban/import.ts.
import { runImportCommand, DEFAULT_FAIL2BAN_DB } from '../../fail2ban/import.ts';
import { defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'import fail2ban',
  summary: "import fail2ban's bans: running ones with their real expiry and ban count, ended ones as history",
  description: 'Opens the file read-only. Importing twice adds nothing.',
  positionals: [{ name: 'file', description: `fail2ban's database (default ${DEFAULT_FAIL2BAN_DB})`, optional: true }],
  options: {
    jails: { type: 'string', value: 'a,b', description: 'only these fail2ban jails' },
    'dry-run': { type: 'boolean', description: 'print what would be imported, change nothing' },
  },
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      const flags = new Map<string, string | true>();
      if (options.jails !== undefined) flags.set('jails', options.jails);
      if (options['dry-run']) flags.set('dry-run', true);
      return runImportCommand(core, ['fail2ban', ...(args.file ? [args.file] : [])], flags, {
        print: (line) => out.line(line),
        fail: (message) => {
          out.error(`edgejail: ${message}`);
          return 1;
        },
      });
    }),
});
