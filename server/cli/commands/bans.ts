import { enforcementViews } from '../../store/enforcement.ts';
import { createStore, type BanListing } from '../../store/store.ts';
import { defineCommand } from '../command.ts';
import { triggerEventIds, withDatabase } from '../context.ts';

const TABLE_COLUMNS = ['id', 'ip_key', 'jail', 'state', 'expires_at', 'cloudflare', 'placement', 'reason'];

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
      const viewOf = enforcementViews(db, Date.now());
      // Where at Cloudflare the block sits (list, access rule, range): only an active ban has one.
      const edge = (b: BanListing) => {
        const view = viewOf(b.ip_key);
        return { cloudflare: view.state, placement: b.state === 'active' ? view.placement : null };
      };
      if (options.json) {
        const bans = options.all ? store.recentBans(1000) : store.activeBans();
        out.json(bans.map((b) => ({ ...b, trigger_event_ids: triggerEventIds(b), ...edge(b) })));
      } else {
        const bans = options.all ? store.recentBanListing(1000) : store.activeBanListing();
        out.table(bans.map((b) => ({ ...b, ...edge(b) })), TABLE_COLUMNS);
      }
      return 0;
    }),
});
