// Follows one log file through rotation, by rename (logrotate's default: the file becomes
// FILE.1 and a new FILE appears) and by truncation (copytruncate), from a saved position.
// The caller saves `position` in the same transaction as what it made of the lines, so a
// restart resumes exactly there: nothing read twice, nothing skipped.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { LogOffset } from '../store/log-offsets.ts';

export interface FollowedLine {
  text: string;
  /** The file's device:inode and where the line starts in it: a stable name for the line. */
  identity: string;
  offset: number;
}

export interface PollResult {
  lines: FollowedLine[];
  /** Where reading resumes after these lines; null while the file does not exist. */
  position: LogOffset | null;
  /** Set when this poll noticed the file was replaced or truncated. */
  rotated: 'renamed' | 'truncated' | null;
}

/** A line longer than this is cut (and read past): one endless line must not hold memory. */
export const MAX_LINE_BYTES = 16 * 1024;
const CHUNK_BYTES = 256 * 1024;

interface Open {
  fd: number;
  identity: string;
  offset: number;
}

const identityOf = (st: { dev: number; ino: number }) => `${st.dev}:${st.ino}`;

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function openAt(path: string, offset: (size: number) => number): Open | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const st = fstatSync(fd);
  return { fd, identity: identityOf(st), offset: Math.min(offset(st.size), st.size) };
}

/**
 * Lines one poll returns at most by default (a chunk may add a few more); all of a poll
 * commits as one transaction. Catching up on a big log, 20,000 lines per commit write a
 * third of the WAL bytes per event that 5,000 did (each attacker's page of the per-IP
 * index is written once per commit) and hold the write lock well under a second.
 */
export const DEFAULT_MAX_LINES_PER_POLL = 20_000;

export function createFollower(path: string, saved: LogOffset | null, options: { fromStart: boolean; maxLinesPerPoll?: number }) {
  const maxLines = options.maxLinesPerPoll ?? DEFAULT_MAX_LINES_PER_POLL;
  let current: Open | null = null;
  /** The file before a rename, read to its end before the new one. */
  let draining: Open | null = null;
  const buffer = Buffer.alloc(CHUNK_BYTES);

  function start(): void {
    const st = statOrNull(path);
    if (saved && st && identityOf(st) === saved.identity) {
      current = openAt(path, (size) => (size < saved.offset ? 0 : saved.offset));
      return;
    }
    if (saved) {
      // Rotated while we were not running: finish the old file (now FILE.1) where we stopped.
      const old = statOrNull(`${path}.1`);
      if (old && identityOf(old) === saved.identity) draining = openAt(`${path}.1`, () => saved.offset);
      current = openAt(path, () => 0);
      return;
    }
    current = openAt(path, (size) => (options.fromStart ? 0 : size));
  }

  /** Complete lines from `file`'s offset on; advances it past them. */
  function readLines(file: Open, into: FollowedLine[]): void {
    for (;;) {
      const n = readSync(file.fd, buffer, 0, CHUNK_BYTES, file.offset);
      if (n === 0) return;
      let lineStart = 0;
      for (let i = 0; i < n; i++) {
        if (buffer[i] !== 0x0a) continue;
        const end = i > lineStart && buffer[i - 1] === 0x0d ? i - 1 : i;
        into.push({ text: buffer.toString('utf8', lineStart, Math.min(end, lineStart + MAX_LINE_BYTES)), identity: file.identity, offset: file.offset + lineStart });
        lineStart = i + 1;
        if (into.length >= maxLines) break; // the rest of the chunk is read again next poll
      }
      if (lineStart === 0) {
        // No newline in a whole chunk: an overlong line; keep its start, skip the rest.
        if (n < CHUNK_BYTES) return; // a line still being written
        into.push({ text: buffer.toString('utf8', 0, MAX_LINE_BYTES), identity: file.identity, offset: file.offset });
        file.offset += n;
        continue;
      }
      file.offset += lineStart;
      if (n < CHUNK_BYTES || into.length >= maxLines) return;
    }
  }

  // "From the end" is the end when the follower is made, not at its first poll: a line
  // written between `edgejail tail` saying it follows the file and that poll is not skipped.
  start();

  return {
    poll(): PollResult {
      const lines: FollowedLine[] = [];
      let rotated: PollResult['rotated'] = null;
      if (draining) {
        readLines(draining, lines);
        if (lines.length) return { lines, position: { path, identity: draining.identity, offset: draining.offset }, rotated };
        closeSync(draining.fd);
        draining = null;
      }
      const st = statOrNull(path);
      if (!current) {
        if (!st) return { lines, position: null, rotated };
        current = openAt(path, () => 0);
        if (!current) return { lines, position: null, rotated };
      } else if (st && identityOf(st) !== current.identity) {
        // Renamed away and replaced: what is left in the old file first, then the new one.
        rotated = 'renamed';
        draining = current;
        current = openAt(path, () => 0);
        readLines(draining, lines);
        if (lines.length) return { lines, position: { path, identity: draining.identity, offset: draining.offset }, rotated };
        closeSync(draining.fd);
        draining = null;
        if (!current) return { lines, position: null, rotated };
      } else if (fstatSync(current.fd).size < current.offset) {
        rotated = 'truncated';
        current.offset = 0;
      }
      readLines(current, lines);
      return { lines, position: { path, identity: current.identity, offset: current.offset }, rotated };
    },
    /**
     * Gives back the lines of the last poll: the next poll returns them again. For a caller
     * whose transaction failed (SQLite busy): its saved position is unchanged, so reading on
     * would skip them until a restart.
     */
    unread(lines: readonly FollowedLine[]): void {
      const first = lines[0];
      if (!first) return;
      for (const file of [draining, current]) if (file && file.identity === first.identity) file.offset = first.offset;
    },
    close(): void {
      if (draining) closeSync(draining.fd);
      if (current) closeSync(current.fd);
      draining = current = null;
    },
  };
}

export type Follower = ReturnType<typeof createFollower>;
