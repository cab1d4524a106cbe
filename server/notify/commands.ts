// `edgejail notify test`: one test message through every configured channel, with the
// service's own channels, signing, retries (fewer: a person is waiting) and audit rows.
import type { Config } from '../config/schema.ts';
import { ConfigError, databasePath } from '../config/load.ts';
import { openDatabase } from '../store/db.ts';
import { createStore } from '../store/store.ts';
import { channelsFromConfig } from './channels/from-config.ts';
import { createNotifier, type NotifierSources } from './notifier.ts';


const CLI_RETRY = { attempts: 3, baseMs: 1_000, maxMs: 5_000 };

// The command never ticks, so the conditions' sources are never read.
const NO_SOURCES: NotifierSources = {
  shields: () => [],
  sites: () => [],
  enforcement: () => ({ mode: 'dry_run', recentCalls: [], blockRule: null, originOnly: null }),
  newBans: () => ({ total: 0, byJail: {}, sample: [] }),
  sentBefore: () => [],
};

export async function runNotifyCommand(
  args: string[],
  io: { config: Config; out: (line: string) => void; fail: (message: string) => number },
): Promise<number> {
  const { config, out, fail } = io;
  if (args[0] !== 'test') return fail('usage: edgejail notify test');
  let channels;
  try {
    channels = channelsFromConfig(config.notify, Date.now);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  if (!channels.length) return fail('no notification channel is configured: add notify.webhooks or notify.smtp to the config file (EDGEJAIL_CONFIG)');
  const db = openDatabase(databasePath(config));
  const store = createStore(db);
  const quiet = { info() {}, warn() {}, error() {} };
  const notifier = createNotifier({ config: config.notify, channels, sources: NO_SOURCES, audit: (entry) => store.audit({ ...entry, actor: 'admin:cli' }), logger: quiet, now: Date.now, retry: CLI_RETRY });
  try {
    const outcomes = await notifier.sendTest();
    for (const o of outcomes) {
      out(o.status === 'sent' ? `ok      ${o.channel.name}${o.attempts > 1 ? ` (after ${o.attempts} attempts)` : ''}` : `FAILED  ${o.channel.name}: ${o.error} (${o.attempts} attempt${o.attempts === 1 ? '' : 's'})`);
    }
    const failed = outcomes.filter((o) => o.status !== 'sent').length;
    return failed ? fail(`${failed} of ${outcomes.length} channel${outcomes.length === 1 ? '' : 's'} failed`) : 0;
  } finally {
    await notifier.stop();
    db.close();
  }
}
