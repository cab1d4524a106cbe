// `edgejail tail`: web-server and WP fail2ban logs turned into the plugin's events; the work is in logtail/.
import { runTailCommand } from '../../logtail/command.ts';
import { defineCommand, restOf } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'tail',
  summary: 'follow log files (nginx, apache, WP fail2ban) and report what they show as a site\'s events',
  description: 'Follows through rotation (rename and truncate); where it stopped is kept in SQLite, so a restart neither re-reads nor skips. Runs until SIGTERM.',
  positionals: [{ name: 'files', description: 'the log files to follow', variadic: true }],
  options: {
    site: { type: 'string', value: 'id', description: 'the site (id or name) the lines belong to' },
    format: { type: 'string', value: 'nginx|apache|wp-fail2ban|auto', description: 'the log format (default auto)' },
    'from-start': { type: 'boolean', description: 'read files never seen before from their start, not their end' },
    'trusted-peers': { type: 'string', value: 'cidr,…', description: 'peers besides Cloudflare\'s ranges whose CF-Connecting-IP is believed (cloudflared: 127.0.0.1)' },
  },
  examples: ['edgejail tail --site my-blog --format nginx /var/log/nginx/access.log'],
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      const flags = new Map<string, string | true>();
      if (options.site !== undefined) flags.set('site', options.site);
      if (options.format !== undefined) flags.set('format', options.format);
      if (options['from-start']) flags.set('from-start', true);
      if (options['trusted-peers'] !== undefined) flags.set('trusted-peers', options['trusted-peers']);
      return runTailCommand(core, restOf(args.files), flags, {
        print: (line) => out.line(line),
        fail: (message) => {
          out.error(`edgejail: ${message}`);
          return 1;
        },
      });
    }),
});
