// The `tail:` section: the service follows the configured log files itself, with the same
// tailer as `edgejail tail` (same ingest path, offsets in SQLite, rotation). A source that
// names no known site, or a path that is no file, stops start-up naming the key; a file
// that does not exist yet is waited for (the web server may create it later).
import { statSync } from 'node:fs';
import type { Core } from '../core.ts';
import { ConfigError } from '../config/load.ts';
import type { TailSource } from './config.ts';
import { siteForTail } from './site.ts';
import { createTailer } from './tail.ts';
import { createHolds } from '../shared/holds.ts';

const POLL_MS = 250;
// A few tens of ms of ingest per turn: requests waiting (the webhook, the dashboard) go
// between two turns, and a backlog is read at full speed all the same.
const MAX_LINES_PER_TURN = 500;

export interface InServiceTailLog {
  info: (fields: object, message: string) => void;
  warn: (fields: object, message: string) => void;
}

export function createConfiguredTail(core: Core, sources: TailSource[], log: InServiceTailLog) {
  const tailers = sources.map((source, i) => {
    const found = siteForTail(core.store, source.site);
    if ('problem' in found) throw new ConfigError(`tail.${i}.site: ${found.problem}`);
    source.paths.forEach((path, j) => {
      let isFile = true;
      try {
        isFile = statSync(path).isFile();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`tail.${i}.paths.${j}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
      }
      if (!isFile) throw new ConfigError(`tail.${i}.paths.${j}: ${path} is not a file`);
    });
    const tailer = createTailer(core, {
      site: found.site,
      files: source.paths,
      format: source.format,
      fromStart: source.from_start,
      trustedPeers: source.trusted_peers,
      maxLinesPerPoll: MAX_LINES_PER_TURN,
      log: (message) => log.warn({ site: found.site.name }, `tail: ${message}`),
    });
    return { tailer, site: found.site.name, lastError: '' };
  });

  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  let stopped = false;
  // While the WAL checkpoint holds the commits, a due poll waits for the release.
  let waiting = false;
  const holds = createHolds(() => {
    if (waiting && !stopped) {
      waiting = false;
      timer = setImmediate(tick);
    }
  });
  function tick(): void {
    timer = null;
    if (holds.held) {
      waiting = true;
      return;
    }
    let read = 0;
    for (const t of tailers) {
      try {
        read += t.tailer.pollOnce();
        t.lastError = '';
      } catch (error) {
        // A file made unreadable (permissions, a disk error): said once, tried again each poll.
        const message = (error as Error).message;
        if (message !== t.lastError) log.warn({ site: t.site, err: error }, 'tail: cannot read a log file; trying again');
        t.lastError = message;
      }
    }
    if (stopped) return;
    // A busy file is read again on the next turn of the event loop, after the requests waiting.
    timer = read ? setImmediate(tick) : setTimeout(tick, POLL_MS).unref();
  }
  return {
    start(): void {
      if (!tailers.length) return;
      log.info({ sources: sources.map((s, i) => ({ site: tailers[i]!.site, format: s.format, paths: s.paths })) }, 'following log files (tail:)');
      tick();
    },
    stats: () => tailers.map((t) => ({ site: t.site, ...t.tailer.stats() })),
    hold: holds.hold,
    stop(): void {
      stopped = true;
      if (timer) {
        clearTimeout(timer as NodeJS.Timeout);
        clearImmediate(timer as NodeJS.Immediate);
      }
      for (const t of tailers) t.tailer.close();
    },
  };
}
