// The Cloudflare checks and set-up; the work itself is in cloudflare/commands.ts.
import { runCloudflareCommand } from '../../cloudflare/commands.ts';
import type { Config } from '../../config/schema.ts';
import { defineCommand } from '../command.ts';
import type { Output } from '../output.ts';
import { withDatabase } from '../context.ts';

const run = (argv: string[], config: Config, out: Output) =>
  withDatabase(config, (db) => runCloudflareCommand(argv, { db, config: config.cloudflare, shield: config.shield, out: (line) => out.line(line) }));

export default [
  defineCommand({
    name: 'cloudflare setup',
    summary: 'list backend: create the IP list and the WAF rule (or print the rule to add by hand)',
    description: 'Exit 2 means done except a step to take in the Cloudflare dashboard, which it prints.',
    run: ({ config, out }) => run(['setup'], config, out),
  }),
  defineCommand({
    name: 'cloudflare verify',
    summary: 'check the token and name any missing permission',
    run: ({ config, out }) => run(['verify'], config, out),
  }),
  defineCommand({
    name: 'cloudflare reconcile',
    summary: 'compare Cloudflare with the bans now and repair the difference',
    run: ({ config, out }) => run(['reconcile'], config, out),
  }),
  defineCommand({
    name: 'cloudflare actions',
    summary: 'every Cloudflare call made for an IP',
    positionals: [{ name: 'ip', description: 'an IP address or ip_key' }],
    run: ({ args, config, out }) => run(['actions', args.ip!], config, out),
  }),
];
