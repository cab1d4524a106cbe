import { cloudflareActionsFor } from '../../store/enforcement.ts';
import { defineCommand } from '../command.ts';
import { needIpKey, triggerEventIds, withCore } from '../context.ts';

export default defineCommand({
  name: 'history',
  summary: 'events, bans, audit log and Cloudflare calls for an IP',
  positionals: [{ name: 'ip', description: 'the address (IPv6: its prefix is shown), or a banned prefix such as 2001:db8::/64' }],
  options: { json: { type: 'boolean', description: 'print JSON' } },
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      const ipKey = needIpKey(core, args.ip!);
      const siteNames = new Map(core.store.listSites().map((s) => [s.id, s.name]));
      const events = core.store.eventsForIpKey(ipKey).map((e) => ({ ...e, site: siteNames.get(e.site_id) ?? e.site_id }));
      const stored = core.store.eventCountOfIpKey(ipKey);
      const bans = core.store.bansForIpKey(ipKey).map((b) => ({ ...b, trigger_event_ids: triggerEventIds(b) }));
      const audit = core.store.auditForIpKey(ipKey);
      const actions = cloudflareActionsFor(core.db, ipKey);
      if (options.json) {
        out.json({ ip_key: ipKey, events, events_stored: stored, bans, audit, cloudflare_actions: actions });
        return 0;
      }
      out.line(`# ${ipKey}\n\n## bans`);
      out.table(bans, ['id', 'jail', 'state', 'created_at', 'expires_at', 'lifted_by', 'reason']);
      out.line(events.length < stored ? `\n## events (the newest ${events.length} of about ${stored} stored)` : '\n## events (newest first)');
      out.table(events, ['occurred_at', 'type', 'site', 'username', 'weight', 'path', 'ignored_reason', 'user_agent']);
      out.line('\n## audit');
      out.table(audit, ['at', 'actor', 'action', 'ban_id', 'detail']);
      out.line('\n## cloudflare');
      out.table(actions as never[], Object.keys(actions[0] ?? { at: 1, operation: 1, http_status: 1 }));
      return 0;
    }),
});
