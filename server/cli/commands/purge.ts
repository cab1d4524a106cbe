import { formatDuration, parseDurationSeconds } from '../../config/duration.ts';
import { purgeOldEvents } from '../../retention.ts';
import { CommandFailed, defineCommand } from '../command.ts';
import { withCore } from '../context.ts';

const DAY_SECONDS = 86_400;

export default defineCommand({
  name: 'purge',
  summary: 'delete events past retention now (bans and the audit log stay)',
  description:
    'The service purges on its own every retention.purge_interval. A purge that cuts more than a day into\n' +
    'what retention keeps deletes evidence the jails and the dashboard still use, so it asks for --yes.',
  options: {
    'older-than': { type: 'string', value: 'duration', description: 'delete events received longer ago than this (default: retention.events)' },
    yes: { type: 'boolean', description: 'confirm a purge of events retention would still keep' },
  },
  examples: ['edgejail purge', 'edgejail purge --older-than 7d --yes'],
  run: ({ options, config, out }) =>
    withCore(config, (core) => {
      const given = options['older-than'];
      const maxAge = given === undefined ? config.retention.events : parseDurationSeconds(given);
      if (maxAge === null) throw new CommandFailed(`--older-than "${given}" is not a duration (e.g. 12h, 7d, 30d)`);
      const nowMs = Date.now();
      const retained = config.retention.events;
      if (retained - maxAge > DAY_SECONDS && !options.yes) {
        const iso = (ageSeconds: number) => new Date(nowMs - ageSeconds * 1000).toISOString();
        const kept = core.store.countEventsReceivedBetween(iso(retained), iso(maxAge));
        if (kept) {
          throw new CommandFailed(
            `--older-than ${formatDuration(maxAge)} would also delete ${kept} event${kept === 1 ? '' : 's'} from the last ${formatDuration(retained)} ` +
              `that retention (retention.events) keeps; add --yes to delete them`,
          );
        }
      }
      const deleted = purgeOldEvents(core, nowMs, maxAge);
      out.line(`purged ${deleted} event${deleted === 1 ? '' : 's'} older than ${formatDuration(maxAge)}`);
      return 0;
    }),
});
