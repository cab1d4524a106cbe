import { defineCommand } from '../command.ts';
import { findSite, withCore } from '../context.ts';

export default defineCommand({
  name: 'site remove',
  summary: 'delete a site and its events (its bans stay)',
  positionals: [{ name: 'site', description: 'the site\'s id or name' }],
  run: ({ args, config, out }) =>
    withCore(config, (core) => {
      const site = findSite(core, args.site!);
      const at = new Date().toISOString();
      core.store.transaction(() => {
        core.store.removeSite(site.id);
        core.store.audit({ at, actor: 'admin:cli', action: 'site_remove', site_id: site.id, detail: { name: site.name } });
      });
      out.line(`removed site ${site.name} (${site.id}) and its events`);
      return 0;
    }),
});
