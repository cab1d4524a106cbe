import { enforcementStateOf, placementOf } from '../../store/enforcement.ts';
import { defineCommand } from '../command.ts';
import { triggerEventIds, withCore } from '../context.ts';

export default defineCommand({
  name: 'bans',
  summary: 'active bans with their Cloudflare state (every recent ban with --all)',
  options: {
    all: { type: 'boolean', description: 'the last 1000 bans, lifted ones too' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  run: ({ options, config, out }) =>
    withCore(config, (core) => {
      const bans = options.all ? core.store.recentBans(1000) : core.store.activeBans();
      const rows = bans.map((b) => ({
        ...b,
        trigger_event_ids: triggerEventIds(b),
        cloudflare: enforcementStateOf(core.db, b.ip_key, config.cloudflare),
        // Where at Cloudflare the block sits (list, access rule, range): only an active ban has one.
        placement: b.state === 'active' ? placementOf(core.db, b.ip_key) : null,
      }));
      if (options.json) out.json(rows);
      else out.table(rows, ['id', 'ip_key', 'jail', 'state', 'expires_at', 'cloudflare', 'placement', 'reason']);
      return 0;
    }),
});
