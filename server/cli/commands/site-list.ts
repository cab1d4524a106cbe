import { defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'site list',
  summary: 'list sites (never their secrets)',
  options: { json: { type: 'boolean', description: 'print JSON' } },
  run: ({ options, config, out }) =>
    withCore(config, (core) => {
      const sites = core.store.listSites().map(core.shield.withZone);
      if (options.json) out.json(sites);
      else out.table(sites, ['id', 'name', 'zone_id', 'hostname', 'site_url', 'plugin_version', 'last_event_at']);
      return 0;
    }),
});
