// Allowing lifts every ban the entry covers through the ban service (so the outbox tells
// Cloudflare), and a running service picks the entry up from the database within a second.
import { AllowlistEntryError } from '../../jail/allowlist-entry.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'allow',
  summary: 'put a range on the runtime allowlist: never counted, never banned; lifts the bans it covers',
  positionals: [{ name: 'cidr', description: 'an IP address or CIDR range, e.g. 198.51.100.0/24' }],
  options: {
    note: { type: 'string', value: 'text', joinsWords: true, description: 'whose range this is; the words up to the next option are kept' },
    force: { type: 'boolean', description: 'accept a range as wide as every address (/0)' },
    json: { type: 'boolean', description: 'print {"cidr","lifted","lifted_ip_keys"} as JSON' },
  },
  examples: ['edgejail allow 198.51.100.0/24 --note office VPN'],
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      const target = args.cidr!.trim();
      let added;
      try {
        added = core.addAllowlist(target, options.note?.trim() || null, 'admin:cli', { force: options.force });
      } catch (error) {
        if (!(error instanceof AllowlistEntryError)) throw error;
        throw new CommandFailed(error.code === 'allowlist_too_wide' ? `${error.message} Add --force if that is really meant.` : error.message);
      }
      const keys = [...new Set(added.lifted.map((ban) => ban.ip_key))];
      if (options.json) return out.line(JSON.stringify({ cidr: added.cidr, lifted: added.lifted.length, lifted_ip_keys: keys })), 0;
      out.line(`allowlisted ${added.cidr}${added.cidr !== target ? ` (from ${target})` : ''}`);
      if (keys.length) out.line(`lifted ${added.lifted.length} ban${added.lifted.length === 1 ? '' : 's'} on ${keys.join(', ')}`);
      return 0;
    }),
});
