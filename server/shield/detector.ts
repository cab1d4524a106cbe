// Site-level attack detection for the login shield: pure functions over plain data (no I/O,
// the clock passed in), like the jail engine. A distributed attack is exactly many distinct
// IPs at two or three tries each, so what is kept per site is bounded:
//   - failures: one counter per time bucket (findtime / 60), exact to a bucket;
//   - distinct IP keys: last-seen per key, least recently seen dropped past MAX_IPS_PER_SITE;
//   - usernames: distinct IP keys per username, MAX_USERNAMES_PER_SITE usernames (least
//     recently tried dropped) with at most MAX_IPS_PER_USERNAME keys each.
// The cost of the bounds: past a cap a count stops growing (figures then read "20000+") and an
// evicted username starts again from zero. The thresholds are far below every cap, so
// detection itself never depends on what was dropped. Worst case per site about
// 20,000 + 200 x 500 = 120,000 map entries, some 12 MB; a site not under attack keeps a few.
// Time is the arrival time of each report, so windows move monotonically.
import { formatDuration } from '../config/duration.ts';

export const MAX_IPS_PER_SITE = 20_000;
export const MAX_USERNAMES_PER_SITE = 200;
export const MAX_IPS_PER_USERNAME = 500;
const BUCKETS_PER_WINDOW = 60;
/** An extension is written down at most this often; the shield's end in memory moves with every event. */
const MAX_EXTEND_STEP_MS = 60_000;

export interface ShieldDetectorConfig {
  maxretry: number;
  /** Seconds. */
  findtime: number;
  min_ips: number;
  username_min_ips: number;
  /** Seconds. */
  bantime: number;
}

export interface ShieldFailure {
  ipKey: string;
  username: string | null;
  weight: number;
}

export interface ShieldFigures {
  failures: number;
  ips: number;
  ipsCapped: boolean;
  /** The username tried from the most IP keys, if any was tried from two or more. */
  topUsername: { username: string; ips: number; capped: boolean } | null;
}

export interface ShieldStatus {
  sinceMs: number;
  untilMs: number;
  reason: string;
  /** The end last handed out in a transition (what the store holds). */
  recordedUntilMs: number;
}

export type ShieldTransitionKind = 'raise' | 'extend' | 'lower';

export interface ShieldTransition {
  siteId: string;
  kind: ShieldTransitionKind;
  atMs: number;
  sinceMs: number;
  untilMs: number;
  /** Audit-ready, in figures: "312 failures from 211 IPs in 5m; 'admin' from 57 IPs". */
  reason: string;
  figures: ShieldFigures;
}

/**
 * Keys by when they were last seen, oldest dropped first. A Map alone would do, but V8 leaves a
 * hole for every deleted entry and skips the holes each time iteration starts from the front:
 * at 20,000 keys with one eviction per event that made every failure cost microseconds.
 * So the order is a queue of (key, time) with stale entries skipped, compacted as it grows.
 */
export class LastSeen {
  private readonly seen = new Map<string, number>();
  private queue: Array<[string, number]> = [];
  private head = 0;
  constructor(private readonly cap: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records `key` at `atMs`; returns true when the cap made it drop the least recent key. */
  touch(key: string, atMs: number): boolean {
    this.seen.set(key, atMs);
    this.queue.push([key, atMs]);
    let evicted = false;
    while (this.seen.size > this.cap) {
      this.popOldest();
      evicted = true;
    }
    this.compact();
    return evicted;
  }

  /** Forgets keys last seen at or before `cutoffMs`. */
  pruneUpTo(cutoffMs: number): void {
    while (this.head < this.queue.length) {
      const [key, at] = this.queue[this.head]!;
      if (at > cutoffMs) break;
      this.head++;
      if (this.seen.get(key) === at) this.seen.delete(key);
    }
    this.compact();
  }

  clear(): void {
    this.seen.clear();
    this.queue = [];
    this.head = 0;
  }

  private popOldest(): void {
    while (this.head < this.queue.length) {
      const [key, at] = this.queue[this.head++]!;
      if (this.seen.get(key) === at) {
        this.seen.delete(key);
        return;
      }
    }
  }

  private compact(): void {
    const live = this.queue.length - this.head;
    if (live > 2 * this.seen.size + 1024) {
      // Mostly stale entries (the same keys seen again and again): rebuild from the map.
      this.queue = [...this.seen].sort((a, b) => a[1] - b[1]);
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

interface SiteWindow {
  buckets: Array<{ startMs: number; weight: number }>;
  failures: number;
  ips: LastSeen;
  ipsCapped: boolean;
  usernames: Map<string, { ips: LastSeen; capped: boolean }>; // least recently tried first
  shield: ShieldStatus | null;
  /** When the condition last held (for the lowering's reason). */
  lastHeldMs: number | null;
}

export interface ShieldDetectorState {
  config: ShieldDetectorConfig;
  sites: Map<string, SiteWindow>;
}

export function createShieldDetector(config: ShieldDetectorConfig): ShieldDetectorState {
  return { config, sites: new Map() };
}

function site(state: ShieldDetectorState, siteId: string): SiteWindow {
  let w = state.sites.get(siteId);
  if (!w) {
    w = { buckets: [], failures: 0, ips: new LastSeen(MAX_IPS_PER_SITE), ipsCapped: false, usernames: new Map(), shield: null, lastHeldMs: null };
    state.sites.set(siteId, w);
  }
  return w;
}

/** Moves `key` to the most recent end of an insertion-ordered map. */
function touch<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
}

/** Per event only the site's counters are pruned (O(1) amortised); `usernames` too when figures are read. */
function prune(state: ShieldDetectorState, w: SiteWindow, nowMs: number, usernames = true): void {
  const cutoff = nowMs - state.config.findtime * 1000;
  const bucketMs = (state.config.findtime * 1000) / BUCKETS_PER_WINDOW;
  while (w.buckets.length && w.buckets[0]!.startMs + bucketMs <= cutoff) w.failures -= w.buckets.shift()!.weight;
  w.ips.pruneUpTo(cutoff);
  if (w.ips.size < MAX_IPS_PER_SITE) w.ipsCapped = false;
  if (!usernames) return;
  for (const [name, entry] of w.usernames) {
    entry.ips.pruneUpTo(cutoff);
    if (entry.ips.size < MAX_IPS_PER_USERNAME) entry.capped = false;
    if (entry.ips.size === 0) w.usernames.delete(name);
  }
}

function figuresOf(w: SiteWindow): ShieldFigures {
  let top: ShieldFigures['topUsername'] = null;
  for (const [username, entry] of w.usernames) {
    if (entry.ips.size >= 2 && (!top || entry.ips.size > top.ips)) top = { username, ips: entry.ips.size, capped: entry.capped };
  }
  return { failures: w.failures, ips: w.ips.size, ipsCapped: w.ipsCapped, topUsername: top };
}

const count = (n: number, capped: boolean) => `${n}${capped ? '+' : ''}`;

/** "312 failures from 211 IPs in 5m; 'admin' from 57 IPs" */
export function describeFigures(figures: ShieldFigures, findtime: number): string {
  const ips = `${count(figures.ips, figures.ipsCapped)} IP${figures.ips === 1 ? '' : 's'}`;
  let text = `${figures.failures} failure${figures.failures === 1 ? '' : 's'} from ${ips} in ${formatDuration(findtime)}`;
  const top = figures.topUsername;
  if (top) {
    // The username is the attacker's text: no control characters into logs, terminals or the plugin.
    const name = top.username.replace(/[\u0000-\u001f\u007f]/g, '?');
    text += `; '${name.length > 64 ? `${name.slice(0, 64)}…` : name}' from ${count(top.ips, top.capped)} IPs`;
  }
  return text;
}

function conditionHolds(config: ShieldDetectorConfig, w: SiteWindow, username: string | null): boolean {
  if (w.failures >= config.maxretry && w.ips.size >= config.min_ips) return true;
  if (username !== null && (w.usernames.get(username)?.ips.size ?? 0) >= config.username_min_ips) return true;
  return false;
}

/**
 * Counts one failed authentication at a site (`nowMs` is when it arrived) and says whether the
 * shield goes up or is extended. `quiet` replays history after a restart without transitions.
 */
export function observeShieldFailure(state: ShieldDetectorState, siteId: string, failure: ShieldFailure, nowMs: number, quiet = false): ShieldTransition | null {
  const { config } = state;
  const w = site(state, siteId);
  prune(state, w, nowMs, false);

  const bucketMs = (config.findtime * 1000) / BUCKETS_PER_WINDOW;
  const last = w.buckets.at(-1);
  if (last && nowMs < last.startMs + bucketMs) last.weight += failure.weight;
  else w.buckets.push({ startMs: nowMs - (nowMs % bucketMs), weight: failure.weight });
  w.failures += failure.weight;

  if (w.ips.touch(failure.ipKey, nowMs)) w.ipsCapped = true;

  const username = failure.username ? failure.username.toLowerCase() : null;
  if (username !== null) {
    const entry = w.usernames.get(username) ?? { ips: new LastSeen(MAX_IPS_PER_USERNAME), capped: false };
    entry.ips.pruneUpTo(nowMs - config.findtime * 1000);
    touch(w.usernames, username, entry);
    if (entry.ips.touch(failure.ipKey, nowMs)) entry.capped = true;
    if (w.usernames.size > MAX_USERNAMES_PER_SITE) w.usernames.delete(w.usernames.keys().next().value!);
  }

  if (!conditionHolds(config, w, username)) return null;
  w.lastHeldMs = nowMs;
  const untilMs = nowMs + config.bantime * 1000;
  if (quiet) {
    if (w.shield) w.shield.untilMs = Math.max(w.shield.untilMs, untilMs);
    return null;
  }
  const figuresNow = () => {
    prune(state, w, nowMs);
    return figuresOf(w);
  };
  if (!w.shield) {
    const figures = figuresNow();
    const reason = describeFigures(figures, config.findtime);
    w.shield = { sinceMs: nowMs, untilMs, reason, recordedUntilMs: untilMs };
    return { siteId, kind: 'raise', atMs: nowMs, sinceMs: nowMs, untilMs, reason, figures };
  }
  const shield = w.shield;
  if (untilMs <= shield.untilMs) return null; // a longer manual shield already covers it
  shield.untilMs = untilMs;
  const step = Math.min(MAX_EXTEND_STEP_MS, (config.bantime * 1000) / 10);
  if (untilMs - shield.recordedUntilMs < step) return null;
  const figures = figuresNow();
  const reason = describeFigures(figures, config.findtime);
  shield.recordedUntilMs = untilMs;
  shield.reason = reason;
  return { siteId, kind: 'extend', atMs: nowMs, sinceMs: shield.sinceMs, untilMs, reason, figures };
}

/** Shields whose time is up: the attack has not been seen for bantime (or a manual shield ran out). */
export function expireShields(state: ShieldDetectorState, nowMs: number): ShieldTransition[] {
  const out: ShieldTransition[] = [];
  for (const [siteId, w] of state.sites) {
    if (!w.shield || w.shield.untilMs > nowMs) continue;
    prune(state, w, nowMs);
    const figures = figuresOf(w);
    const since = w.lastHeldMs === null ? 'not seen since the shield went up' : `last seen ${new Date(w.lastHeldMs).toISOString()}`;
    const reason = `attack ${since}; now ${describeFigures(figures, state.config.findtime)}`;
    out.push({ siteId, kind: 'lower', atMs: nowMs, sinceMs: w.shield.sinceMs, untilMs: nowMs, reason, figures });
    w.shield = null;
  }
  return out;
}

/**
 * Sets what the store says about a site's shield: a manual raise, a restart, a change made by
 * another process. A shield lowered by hand also forgets the window, so it rises again only
 * on a fresh findtime's worth of attack, not on the very next failure.
 */
export function setShieldStatus(state: ShieldDetectorState, siteId: string, status: { sinceMs: number; untilMs: number; reason: string } | null, options: { forgetWindow?: boolean } = {}): void {
  const w = site(state, siteId);
  if (status) {
    const untilMs = Math.max(status.untilMs, w.shield && w.shield.sinceMs === status.sinceMs ? w.shield.untilMs : 0);
    w.shield = { sinceMs: status.sinceMs, untilMs, reason: status.reason, recordedUntilMs: status.untilMs };
  } else {
    w.shield = null;
  }
  if (options.forgetWindow) {
    w.buckets = [];
    w.failures = 0;
    w.ips.clear();
    w.ipsCapped = false;
    w.usernames.clear();
  }
}

export function shieldStatusOf(state: ShieldDetectorState, siteId: string, nowMs: number): ShieldStatus | null {
  const shield = state.sites.get(siteId)?.shield ?? null;
  return shield && shield.untilMs > nowMs ? shield : null;
}

export function shieldFigures(state: ShieldDetectorState, siteId: string, nowMs: number): ShieldFigures {
  const w = state.sites.get(siteId);
  if (!w) return { failures: 0, ips: 0, ipsCapped: false, topUsername: null };
  prune(state, w, nowMs);
  return figuresOf(w);
}

/** Drops windows with nothing left in them, so a site that was attacked once costs nothing later. */
export function pruneShieldDetector(state: ShieldDetectorState, nowMs: number): void {
  for (const [siteId, w] of state.sites) {
    prune(state, w, nowMs);
    if (!w.shield && w.failures === 0 && w.ips.size === 0 && w.usernames.size === 0) state.sites.delete(siteId);
  }
}

/** Map entries held, for the memory gauge and the bound's test. */
export function trackedEntries(state: ShieldDetectorState): number {
  let n = 0;
  for (const w of state.sites.values()) {
    n += w.buckets.length + w.ips.size + w.usernames.size;
    for (const entry of w.usernames.values()) n += entry.ips.size;
  }
  return n;
}
