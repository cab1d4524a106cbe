// `edgejail tail`: log files → events → the same ingest path as the plugin's webhook (jails,
// audit, decisions). Each poll's events and the files' new offsets commit together.
import { LIMITS, MAX_EVENTS_PER_BATCH, type AttemptEvent } from '../contract/events.ts';
import type { Core } from '../core.ts';
import { ingestBatch } from '../ingest/ingest-batch.ts';
import { CidrSet } from '../jail/ip.ts';
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from '../jail/never-ban.ts';
import type { SiteRow } from '../store/store.ts';
import { isoOf } from '../shared/iso-time.ts';
import { createLogOffsetStore } from '../store/log-offsets.ts';
import { createFollower, type Follower } from './follower.ts';
import { lineEventId, parseLine, type LogEvent, type LogFormat } from './parse.ts';

export interface TailStats {
  lines: number;
  events: number;
  ignored: number;
  unparsed: number;
  bans: number;
}

export interface TailOptions {
  site: SiteRow;
  files: string[];
  format: LogFormat;
  fromStart: boolean;
  /**
   * Peers besides Cloudflare's ranges whose CF-Connecting-IP is believed: cloudflared (a
   * Cloudflare Tunnel connects from loopback), or a local proxy that passes the header on.
   */
  trustedPeers?: readonly string[];
  /** Lines per file and poll at most: inside the service a poll must not hold the event loop long. */
  maxLinesPerPoll?: number;
  /** Sampled unparsable lines and rotations; never the whole flood. */
  log: (message: string) => void;
}

const SAMPLE_EVERY = 1000;

/**
 * The event the plugin would have sent for a parsed line. Valid by construction (the parser
 * bounds every field to the contract's limits and normalises the address; a unit test holds
 * it to eventSchema), so it skips the webhook's zod pass, which cost a tenth of the tailer's time.
 */
export function toAttemptEvent(e: LogEvent, line: { identity: string; offset: number; text: string }, nowMs: number): AttemptEvent {
  return {
    id: lineEventId(line.identity, line.offset, line.text),
    type: e.type,
    ip: e.ip,
    // A time ahead of ours (a skewed clock) is read as now, as the webhook would refuse it.
    occurred_at: isoOf(Math.min(e.occurredAtMs, nowMs)),
    username: e.username,
    user_agent: e.userAgent?.slice(0, LIMITS.user_agent) ?? null,
    path: e.path,
    weight: e.weight,
  };
}

export function createTailer(core: Core, options: TailOptions) {
  const offsets = createLogOffsetStore(core.db);
  const cloudflare = new CidrSet([...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6, ...(options.trustedPeers ?? [])]);
  const isCloudflare = (ip: string) => cloudflare.contains(ip);
  const followers: Array<{ path: string; follower: Follower }> = options.files.map((path) => ({
    path,
    follower: createFollower(path, offsets.get(path), { fromStart: options.fromStart, maxLinesPerPoll: options.maxLinesPerPoll }),
  }));
  const stats: TailStats = { lines: 0, events: 0, ignored: 0, unparsed: 0, bans: 0 };

  function unparsed(path: string, text: string, reason: string): void {
    if (stats.unparsed++ % SAMPLE_EVERY === 0) {
      options.log(`${path}: cannot read a line (${reason}; ${stats.unparsed} so far, 1 in ${SAMPLE_EVERY} shown): ${JSON.stringify(text.slice(0, 200))}`);
    }
  }

  /** Reads what is new in every file and ingests it; returns the number of lines read. */
  function pollOnce(): number {
    let read = 0;
    for (const { path, follower } of followers) {
      const { lines, position, rotated } = follower.poll();
      if (rotated) options.log(`${path}: ${rotated === 'renamed' ? 'rotated (a new file at the path)' : 'truncated'}; reading it from the start`);
      if (!position) continue;
      const nowMs = core.now();
      const events: AttemptEvent[] = [];
      let ignored = 0;
      const unreadable: Array<{ text: string; reason: string }> = [];
      for (const line of lines) {
        const parsed = parseLine(line.text, options.format, { isCloudflare, nowMs });
        if (parsed.kind === 'unparsed') {
          unreadable.push({ text: line.text, reason: parsed.reason });
          continue;
        }
        if (parsed.kind === 'ignored') {
          ignored++;
          continue;
        }
        events.push(toAttemptEvent(parsed.event, line, nowMs));
      }
      let accepted = 0;
      let bans = 0;
      try {
        core.bans.transaction(() => {
          for (let i = 0; i < events.length; i += MAX_EVENTS_PER_BATCH) {
            const outcome = ingestBatch(
              { store: core.store, bans: core.bans, ipv6Prefix: core.config.ipv6_prefix, ignoreLists: core.ignoreLists, shield: core.shield },
              options.site,
              { events: events.slice(i, i + MAX_EVENTS_PER_BATCH) },
              nowMs,
            );
            accepted += outcome.response.accepted;
            bans += outcome.bansCreated;
          }
          offsets.set(position, new Date(nowMs).toISOString());
        });
      } catch (error) {
        // Rolled back, offset included: the same lines come again on the next poll.
        follower.unread(lines);
        throw error;
      }
      read += lines.length;
      stats.lines += lines.length;
      stats.ignored += ignored;
      stats.events += accepted;
      stats.bans += bans;
      for (const u of unreadable) unparsed(path, u.text, u.reason);
    }
    return read;
  }

  return {
    pollOnce,
    stats: () => ({ ...stats }),
    close: () => followers.forEach((f) => f.follower.close()),
  };
}
