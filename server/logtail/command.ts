// `edgejail tail --site <id> [--format nginx|apache|wp-fail2ban|auto] [--from-start] FILE…`:
// runs until SIGINT/SIGTERM, polling the files; each poll commits its events and offsets.
import type { Core } from '../core.ts';
import { createTailer } from './tail.ts';
import { LOG_FORMATS, type LogFormat } from './parse.ts';

export const TAIL_USAGE = 'usage: edgejail tail --site <id or name> [--format nginx|apache|wp-fail2ban|auto] [--from-start] FILE…';
const POLL_MS = 250;

export async function runTailCommand(
  core: Core,
  files: string[],
  flags: Map<string, string | true>,
  io: { print: (line: string) => void; fail: (message: string) => number },
  signal: { stopped: Promise<void> } = { stopped: stopSignal() },
): Promise<number> {
  const siteFlag = flags.get('site');
  if (typeof siteFlag !== 'string') return io.fail(`--site is required\n${TAIL_USAGE}`);
  const byName = core.store.listSites().filter((s) => s.name === siteFlag);
  const site = core.store.siteById(siteFlag) ?? (byName.length === 1 ? core.store.siteById(byName[0]!.id) : undefined);
  if (!site) return io.fail(`no site with the id or unique name ${JSON.stringify(siteFlag.slice(0, 100))} (edgejail site list)`);
  const format = (flags.get('format') ?? 'auto') as LogFormat;
  if (!LOG_FORMATS.includes(format)) return io.fail(`--format must be one of ${LOG_FORMATS.join(', ')}`);
  if (!files.length) return io.fail(`name at least one log file\n${TAIL_USAGE}`);
  const tailer = createTailer(core, { site, files, format, fromStart: flags.has('from-start'), log: (m) => process.stderr.write(`edgejail tail: ${m}\n`) });
  io.print(`following ${files.length} file${files.length > 1 ? 's' : ''} for site ${site.name} (${format}); Ctrl-C stops`);
  let stopped = false;
  void signal.stopped.then(() => (stopped = true));
  try {
    while (!stopped) {
      // Bans the service (or anyone) made meanwhile: our jails must not ban those again.
      core.bans.syncFromStore();
      // A busy file is read again at once; a quiet one waits for the next poll.
      if (tailer.pollOnce() === 0) await Promise.race([new Promise((r) => setTimeout(r, POLL_MS)), signal.stopped]);
    }
  } finally {
    tailer.close();
  }
  const s = tailer.stats();
  io.print(`stopped: ${s.lines} lines, ${s.events} events, ${s.bans} bans, ${s.unparsed} unreadable`);
  return 0;
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
