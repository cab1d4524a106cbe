import { defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

export default defineCommand({
  name: 'allowlist',
  summary: 'the allowlist: config entries (fixed until restart) and runtime ones (API, dashboard, CLI)',
  options: { json: { type: 'boolean', description: 'print {"config": [...], "runtime": [...]} as JSON' } },
  run: ({ options, config, out }) =>
    withCore(config, (core) => {
      const entries = core.allowlistEntries();
      if (options.json) return out.json(entries), 0;
      out.table(
        [
          ...entries.runtime.map((e) => ({ cidr: e.cidr, source: 'runtime', note: e.note ?? '', added: `${e.created_at} by ${e.created_by}` })),
          ...entries.config.map((cidr) => ({ cidr, source: 'config', note: '', added: '' })),
        ],
        ['cidr', 'source', 'note', 'added'],
      );
      return 0;
    }),
});
