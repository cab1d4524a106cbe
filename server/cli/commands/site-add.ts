import { randomBytes, randomUUID } from 'node:crypto';
import { escapeForTerminal } from '../../shared/terminal.ts';
import type { Config } from '../../config/schema.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';
import { applySiteZone, parseSiteZone } from '../../shield/site-zone.ts';

const phpString = (value: string) => `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;

/** The URL sites should send to: `public_url`, or this listener's own address. */
function sitesUrl(config: Config): { url: string; configured: boolean } {
  if (config.public_url) return { url: config.public_url.replace(/\/+$/, ''), configured: true };
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { url: `http://${host}:${config.port}`, configured: false };
}

export default defineCommand({
  name: 'site add',
  summary: 'create a site; prints its wp-config.php lines, secret included, once',
  positionals: [{ name: 'name', description: 'a name for people, unique (e.g. the blog\'s domain)' }],
  options: {
    zone: { type: 'string', value: 'zone id', description: 'its Cloudflare zone, for the login shield (default CLOUDFLARE_ZONE_ID)' },
    host: { type: 'string', value: 'hostname', description: 'its hostname in that zone (default: the host of the site_url the plugin reports)' },
    json: { type: 'boolean', description: 'print only {"id","secret"} as JSON' },
  },
  examples: ['edgejail site add shop.example.com', 'edgejail site add shop.example.com --zone 0123456789abcdef0123456789abcdef --host shop.example.com'],
  run({ args, options, config, out }) {
    const name = args.name!.trim();
    if (!name || escapeForTerminal(name) !== name) throw new CommandFailed('a site name must be printable text without control characters');
    const zone = parseSiteZone({ zone: options.zone, host: options.host });
    if (typeof zone === 'string') throw new CommandFailed(zone);
    return withCore(config, (core) => {
      const at = new Date().toISOString();
      const site = { id: randomUUID(), name, secret: randomBytes(32).toString('hex'), created_at: at };
      core.store.transaction(() => {
        const taken = core.store.listSites().find((s) => s.name.toLowerCase() === name.toLowerCase());
        if (taken) throw new CommandFailed(`a site named "${taken.name}" exists already (id ${taken.id}); choose another name`);
        core.store.insertSite(site);
        core.store.audit({ at, actor: 'admin:cli', action: 'site_add', site_id: site.id, detail: { name } });
        applySiteZone(core, site.id, zone, 'admin:cli');
      });
      if (options.json) {
        out.line(JSON.stringify({ id: site.id, secret: site.secret }));
        return 0;
      }
      const { url, configured } = sitesUrl(config);
      out.fields([['site', site.name], ['id', site.id], ['secret', site.secret]]);
      out.line('\nThe secret is shown only now. Put these lines in the site\'s wp-config.php, above "That\'s all, stop editing!":\n');
      out.line(`define( 'EDGEJAIL_URL', ${phpString(url)} );`);
      out.line(`define( 'EDGEJAIL_SITE_ID', ${phpString(site.id)} );`);
      out.line(`define( 'EDGEJAIL_SECRET', ${phpString(site.secret)} );`);
      if (!configured) {
        out.line(`\nEDGEJAIL_URL is this service's own listener, right only when WordPress runs on this host.`);
        out.line('Set `public_url` in the config to the URL the sites reach EdgeJail at (e.g. https://edgejail.example.com).');
      }
      return 0;
    });
  },
});
