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
      const nowMs = Date.now();
      if (options.json) {
        const viewOf = enforcementViews(db, nowMs);
        const bans = options.all ? store.recentBans(1000) : store.activeBans();
        out.json(bans.map((b) => ({ ...b, trigger_event_ids: triggerEventIds(b), ...edgeOf(viewOf, b) })));
        return 0;
      }
      const bans: Array<BanListing & Partial<Edge>> = options.all ? store.recentBanListing(1000) : store.activeBanListing();
      // Every active ban is in hand: the keys they block need no second read.
      const viewOf = options.all ? enforcementViews(db, nowMs) : enforcementViews(db, nowMs, blockedBy(bans, nowMs));
      for (const ban of bans) Object.assign(ban, edgeOf(viewOf, ban));
      out.table(bans, TABLE_COLUMNS);
      return 0;
    }),
});

type Edge = ReturnType<typeof edgeOf>;

/** Where at Cloudflare the block sits (list, access rule, range): only an active ban has one. */
function edgeOf(viewOf: ReturnType<typeof enforcementViews>, ban: BanListing) {
  const view = viewOf(ban.ip_key);
  return { cloudflare: view.state, placement: ban.state === 'active' ? view.placement : null };
}

/** The keys active bans block now: those with one not yet expired, compared as the store compares them (ISO text). */
function blockedBy(active: readonly BanListing[], nowMs: number): Set<string> {
  const nowIso = new Date(nowMs).toISOString();
  const blocked = new Set<string>();
  for (const ban of active) if (ban.expires_at > nowIso) blocked.add(ban.ip_key);
  return blocked;
}
