import { applySiteZone, changesSiteZone, parseSiteZone } from '../../shield/site-zone.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';
import type { Core } from '../../core.ts';

/** By id first, as `site set <id>` is documented; a unique name is accepted too, as the other site commands do. */
function siteIdFor(core: Core, ref: string): string {
  if (core.store.siteById(ref)) return ref;
  const named = core.store.listSites().filter((s) => s.name === ref);
  if (named.length === 1) return named[0]!.id;
  if (named.length > 1) throw new CommandFailed(`${named.length} sites are named "${ref}"; use the id: ${named.map((s) => s.id).join(', ')}`);
  throw new CommandFailed(`no site with id ${ref} (nor one with that name; \`edgejail site list\` shows them)`);
}

export default defineCommand({
  name: 'site set',
  summary: 'set a site\'s Cloudflare zone and hostname (used by the login shield)',
  description: 'The value `default` puts a field back to its default: CLOUDFLARE_ZONE_ID for --zone, the host of the\nsite_url the plugin reports for --host.',
  positionals: [{ name: 'site', description: 'the site\'s id (or its name)' }],
  options: {
    zone: { type: 'string', value: 'zone id', description: 'its Cloudflare zone id (32 hex characters), or `default`' },
    host: { type: 'string', value: 'hostname', description: 'its hostname in that zone, e.g. shop.example.com, or `default`' },
  },
  examples: ['edgejail site set 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --zone 0123456789abcdef0123456789abcdef --host www.example.com'],
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      const change = parseSiteZone({ zone: options.zone, host: options.host });
      if (typeof change === 'string') throw new CommandFailed(change);
      if (!changesSiteZone(change)) throw new CommandFailed('site set needs --zone <zone id> and/or --host <hostname>');
      const siteId = siteIdFor(core, args.site!);
      if (!core.store.transaction(() => applySiteZone(core, siteId, change, 'admin:cli'))) throw new CommandFailed(`no site with id ${siteId}`);
      const site = core.shield.withZone(core.store.siteById(siteId)!);
      out.line(
        `site ${siteId}: zone ${site.zone_id ?? '(none: set --zone or CLOUDFLARE_ZONE_ID)'}, hostname ${site.hostname ?? '(none yet: set --host, or the plugin reports its site_url)'}`,
      );
      return 0;
    }),
});
