// `edgejail tail --site <id> [--format nginx|apache|wp-fail2ban|auto] [--from-start] FILE…`:
// runs until SIGINT/SIGTERM, polling the files; each poll commits its events and offsets.
import type { Core } from '../core.ts';
import { resolve } from 'node:path';
import { createTailer } from './tail.ts';
import { siteForTail } from './site.ts';
import { parseCidr } from '../jail/ip.ts';
import { LOG_FORMATS, type LogFormat } from './parse.ts';

export const TAIL_USAGE = 'usage: edgejail tail --site <id or name> [--format nginx|apache|wp-fail2ban|auto] [--from-start] [--trusted-peers CIDR,…] FILE…';
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
  const found = siteForTail(core.store, siteFlag);
  if ('problem' in found) return io.fail(found.problem);
  const { site } = found;
  const format = (flags.get('format') ?? 'auto') as LogFormat;
  if (!LOG_FORMATS.includes(format)) return io.fail(`--format must be one of ${LOG_FORMATS.join(', ')}`);
  if (!files.length) return io.fail(`name at least one log file\n${TAIL_USAGE}`);
  // Offsets are kept per path: this process and the service would both count the lines.
  for (const file of files) {
    const i = core.config.tail.findIndex((source) => source.paths.includes(resolve(file)));
    if (i >= 0) return io.fail(`${file} is followed by the service itself (tail.${i} in the config): running both would count its lines twice`);
  }
  const peers = flags.get('trusted-peers');
  const trustedPeers = typeof peers === 'string' ? peers.split(',').map((p) => p.trim()).filter(Boolean) : [];
  const badPeer = trustedPeers.find((p) => parseCidr(p) === null);
  if (badPeer !== undefined) return io.fail(`--trusted-peers: ${JSON.stringify(badPeer.slice(0, 100))} is not an IP address or CIDR range`);
  const tailer = createTailer(core, { site, files, format, fromStart: flags.has('from-start'), trustedPeers, log: (m) => process.stderr.write(`edgejail tail: ${m}\n`) });
  io.print(`following ${files.length} file${files.length > 1 ? 's' : ''} for site ${site.name} (${format}); Ctrl-C stops`);
  let stopped = false;
  void signal.stopped.then(() => (stopped = true));
  try {
    while (!stopped) {
      // Bans the service (or anyone) made meanwhile: our jails must not ban those again.
      core.bans.syncFromStore();
      // A busy file is read again at once; a quiet one waits for the next poll.
      let read: number;
      try {
        read = tailer.pollOnce();
      } catch (error) {
        // The service (or its checkpoint) held SQLite's write lock past busy_timeout: the poll
        // was rolled back and its lines are read again, so wait and go on rather than exit.
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
        process.stderr.write('edgejail tail: the database is busy; trying again\n');
        read = 0;
      }
      if (read === 0) await Promise.race([new Promise((r) => setTimeout(r, POLL_MS)), signal.stopped]);
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
