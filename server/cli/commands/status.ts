import { databasePath } from '../../config/load.ts';
import { defineCommand } from '../command.ts';
import { withCore } from '../context.ts';
import { askService } from '../service-client.ts';

interface ServiceStatus {
  bans: Record<string, number>;
  events_stored: number;
  sites: number;
  cloudflare: { mode: string; backend: string; scope: string; running: boolean; outboxDepth: number; outboxDue: number; lastError: string | null; lastReconcile: { at?: string; finishedAt?: string } | null };
}

const countsText = (counts: Record<string, number>) => Object.entries(counts).map(([state, n]) => `${n} ${state}`).join(', ') || 'none';

export default defineCommand({
  name: 'status',
  summary: 'what the running service is doing; without one, what the database holds',
  description:
    'Asks the running service (/v1/status, with the admin token from the config or the data dir). When no\n' +
    'service answers, reads the database instead and says so: Cloudflare mode is then this shell\'s config.',
  options: { json: { type: 'boolean', description: 'print JSON (with "source": "service" or "database")' } },
  async run({ options, config, out }) {
    const answer = await askService<ServiceStatus>(config, '/v1/status');
    if (answer.ok) {
      const s = answer.body;
      if (options.json) return out.json({ source: 'service', url: answer.url, ...s }), 0;
      const cf = s.cloudflare;
      out.fields([
        ['service', `running at ${answer.url}`],
        ['cloudflare', cf.mode === 'dry_run' ? 'dry-run: the service has no CLOUDFLARE_API_TOKEN, bans are recorded but not pushed' : `enforcing, ${cf.backend} backend, ${cf.scope}`],
        ['outbox', `${cf.outboxDepth} IP${cf.outboxDepth === 1 ? '' : 's'} waiting for Cloudflare (${cf.outboxDue} due now)`],
        ...(cf.lastError ? ([['last error', cf.lastError]] as const) : []),
        ['bans', countsText(s.bans)],
        ['events', `${s.events_stored} stored`],
        ['sites', s.sites],
      ]);
      return 0;
    }
    const note = `could not ask the service at ${answer.url} (${answer.why}); these figures come from the database`;
    return withCore(config, (core) => {
      const local = {
        source: 'database' as const,
        note,
        database: databasePath(config),
        sites: core.store.listSites().length,
        events_stored: core.store.countEvents(),
        bans: Object.fromEntries(core.store.countBansByState().map((r) => [r.state, r.n])),
        cloudflare: config.cloudflare.api_token ? `${config.cloudflare.backend} (as configured in this shell)` : 'dry-run (no CLOUDFLARE_API_TOKEN in this shell)',
      };
      if (options.json) return out.json(local), 0;
      out.line(`note: ${note}\n`);
      out.fields([
        ['database', local.database],
        ['cloudflare', local.cloudflare],
        ['bans', countsText(local.bans)],
        ['events', `${local.events_stored} stored`],
        ['sites', local.sites],
      ]);
      return 0;
    });
  },
});
