import { enforcementViews } from '../../store/enforcement.ts';
import { createStore } from '../../store/store.ts';
import { defineCommand } from '../command.ts';
import { triggerEventIds, withDatabase } from '../context.ts';

export default defineCommand({
  name: 'bans',
  summary: 'active bans with their Cloudflare state (every recent ban with --all)',
  options: {
    all: { type: 'boolean', description: 'the last 1000 bans, lifted ones too' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  run: ({ options, config, out }) =>
    // A listing needs the rows only: no core, so no jail state rebuilt from the events.
    withDatabase(config, (db) => {
      const store = createStore(db);
      const bans = options.all ? store.recentBans(1000) : store.activeBans();
      const viewOf = enforcementViews(db, Date.now());
      const rows = bans.map((b) => {
        const view = viewOf(b.ip_key);
        return {
          ...b,
          trigger_event_ids: triggerEventIds(b),
          cloudflare: view.state,
          // Where at Cloudflare the block sits (list, access rule, range): only an active ban has one.
          placement: b.state === 'active' ? view.placement : null,
        };
      });
      if (options.json) out.json(rows);
      else out.table(rows, ['id', 'ip_key', 'jail', 'state', 'expires_at', 'cloudflare', 'placement', 'reason']);
      return 0;
    }),
});
