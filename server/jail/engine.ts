// The jail engine: fail2ban's semantics (maxretry within findtime → bantime, bantime
// increment, recidive) as plain functions over a plain state object. No clock, no I/O:
// callers pass `nowMs`, persist what comes back, and rebuild the state after a restart:
// the recent events at once (restoreJailState), and each ip_key's past bans the first
// time the caller meets that key (restoreBanHistory).
//
// Rules that are not spelled out by fail2ban's names:
// - A window holds one ip_key's counted events per jail (per site too when scope is "site").
//   An event counts if it occurred within findtime of now and after the key's last ban in
//   that jail ended: what happened before or during a ban was already punished, or was
//   blocked at the edge and is only arriving late from a spool.
// - The engine records its own decisions. The service may pass them back through
//   observeBan; a ban already known (same jail and ip_key, same creation or expiry time)
//   is not counted twice.
// - A ban lifted early by an admin does not count towards escalation or recidive (fail2ban
//   also forgets a ban on a manual unban).
// - An address's past bans are remembered for escalation until `maxtime` after its latest
//   ban ended: one that stays quiet for as long as the longest ban starts over, while a
//   persistent one keeps its whole history (and stays at maxtime).
// - The caller may refuse a jail's decision (a quota): the engine then records nothing,
//   and keeps the key's window just at maxretry, so the next counted event decides again.
// - Memory is bounded: windows by maxTrackedKeys per jail, remembered bans by maxBanKeys
//   (the least recently banned key is forgotten first). While `forgotten` is an array, each
//   key a cap makes the state forget is named in it: a caller whose transaction rolls back
//   rebuilds those keys from the store too, since the event that pushed them out is gone.
import { formatDuration, MAX_BAN_SECONDS } from '../config/duration.ts';
import type { EventType } from '../contract/events.ts';
import { BAN_EVENT, type JailConfig, type JailsConfig } from './jail-config.ts';
import { createBanMarks, NO_MARK, type BanMarks } from './ban-marks.ts';
import { createWindowStore, NO_WINDOW, type WindowEntryInput, type WindowStore } from './window-store.ts';

export interface JailEvent {
  /** The stored event's seq in the events table: a ban names its trigger by it (8 bytes a window entry, where the UUID took 16). */
  seq: number;
  siteId: string;
  type: EventType;
  ipKey: string;
  username: string | null;
  weight: number;
  occurredAtMs: number;
}

export interface BanDecision {
  ipKey: string;
  jail: string;
  /** 1 = first offence. */
  banCount: number;
  durationSeconds: number;
  expiresAtMs: number;
  /** e.g. "5 failures (login_failed×4, xmlrpc_multicall×1) in 10m". */
  reason: string;
  /** Seqs of the events in the window that reached maxretry; empty for a jail that counts bans. */
  triggerEventSeqs: number[];
}

export interface PastBan {
  ipKey: string;
  /** A jail name, or 'manual'. */
  jail: string;
  createdAtMs: number;
  expiresAtMs: number;
  liftedAtMs: number | null;
}

/**
 * `counted` is what it counts towards maxretry: attempts × the repeat-offender multiplier.
 * `label` is the event type, or for a jail counting bans the jail that banned. `username`
 * is lower-cased: WordPress user logins match case-insensitively.
 */
type WindowEntry = WindowEntryInput;

interface Jail {
  name: string;
  config: JailConfig;
  findtimeMs: number;
  maxtimeMs: number;
  countsBans: boolean;
  /** Least recently updated first (a touched window is re-inserted). */
  windows: WindowStore;
}

export interface JailState {
  readonly jails: Jail[];
  readonly jailsByType: Map<string, Jail[]>;
  readonly banJails: Jail[];
  readonly forgivingJails: Jail[];
  /** ip_key → its bans still remembered (typed-array slots); keys least recently banned first. */
  readonly bans: BanMarks;
  readonly banMemoryMs: number;
  readonly maxTrackedKeys: number;
  readonly maxBanKeys: number;
  readonly random: () => number;
  evictions: number;
  /** ip_keys whose ban history was forgotten early to stay within maxBanKeys. */
  banKeyEvictions: number;
  /**
   * Null, or the keys a cap made the state forget since the caller set it to [] (a window
   * evicted at maxTrackedKeys: its site too when its jail counts by site; a key's ban
   * history at maxBanKeys: no site, and its windows in the jails that count bans go with it).
   */
  forgotten: Array<{ ipKey: string; siteId: string | null }> | null;
  /** The latest nowMs seen; used where the API passes no clock (observeUnban). */
  clockMs: number;
}

export function createJailState(
  jails: JailsConfig,
  options: { maxTrackedKeys?: number; maxBanKeys?: number; random?: () => number } = {},
): JailState {
  const enabled: Jail[] = Object.entries(jails)
    .filter(([, config]) => config.enabled)
    .map(([name, config]) => ({
      name,
      config,
      findtimeMs: config.findtime * 1000,
      maxtimeMs: config.bantime_increment.maxtime * 1000,
      countsBans: config.event_types.includes(BAN_EVENT),
      windows: createWindowStore(),
    }));
  const jailsByType = new Map<string, Jail[]>();
  for (const jail of enabled) {
    if (jail.countsBans) continue;
    for (const type of jail.config.event_types) jailsByType.set(type, [...(jailsByType.get(type) ?? []), jail]);
  }
  return {
    jails: enabled,
    jailsByType,
    banJails: enabled.filter((jail) => jail.countsBans),
    forgivingJails: enabled.filter((jail) => !jail.countsBans && jail.config.forgive_on_success),
    bans: createBanMarks(),
    banMemoryMs: Math.max(0, ...enabled.map((jail) => Math.max(jail.maxtimeMs, jail.findtimeMs))),
    maxTrackedKeys: options.maxTrackedKeys ?? 200_000,
    maxBanKeys: options.maxBanKeys ?? 200_000,
    random: options.random ?? Math.random,
    evictions: 0,
    banKeyEvictions: 0,
    forgotten: null,
    clockMs: 0,
  };
}

/** Whether the caller will apply a jail's decision; false leaves no trace of it in the state. */
export type AdmitDecision = (decision: BanDecision) => boolean;

/**
 * Counts one event in every jail that watches its type; returns the bans it causes
 * (recidive included). `admit` may refuse a jail's decision; the recidive decisions that
 * follow an admitted one are always returned, they ban a key that is banned already.
 */
export function observeEvent(state: JailState, event: JailEvent, nowMs: number, admit?: AdmitDecision): readonly BanDecision[] {
  advanceClock(state, nowMs);
  if (event.type === 'login_succeeded') forgive(state, event);
  let decisions: BanDecision[] | null = null;
  for (const jail of state.jailsByType.get(event.type) ?? NO_JAILS) {
    // The window store copies an entry into its slots: one object serves every event and jail.
    const decision = countInJail(state, jail, windowKey(jail, event.siteId, event.ipKey), event.ipKey, fillEntry(scratchEntry, event), nowMs, true, admit);
    if (decision) (decisions ??= []).push(decision, ...recordBan(state, banOf(decision, nowMs), nowMs, true));
  }
  // Most events decide nothing: no array for them (an event's garbage is what paces the scavenges).
  return decisions ?? NO_DECISIONS;
}

const NO_JAILS: readonly Jail[] = Object.freeze([]);
const NO_DECISIONS: readonly BanDecision[] = Object.freeze([]);

/**
 * Records a ban from any jail or 'manual': it counts for escalation and feeds the jails
 * that count bans, which may decide a ban of their own (returned).
 */
export function observeBan(state: JailState, ban: PastBan, nowMs: number): BanDecision[] {
  advanceClock(state, nowMs);
  const marks = state.bans;
  for (let mark = marks.first(ban.ipKey); mark !== NO_MARK; mark = marks.next(mark)) {
    if (marks.jail(mark) !== ban.jail || (marks.createdAtMs(mark) !== ban.createdAtMs && marks.expiresAtMs(mark) !== ban.expiresAtMs)) continue;
    if (ban.liftedAtMs !== null && marks.liftedAtMs(mark) === null) liftMark(state, ban.ipKey, mark, ban.liftedAtMs);
    return [];
  }
  return recordBan(state, ban, nowMs, true);
}

/**
 * A ban another process (the CLI, `edgejail tail`) wrote: remembered for escalation and so
 * this jail does not ban again, but deciding nothing, since that process applied whatever
 * recidive ban it brought (and that ban arrives here the same way). Idempotent; a later
 * expiry (an extension) and a lift are taken over.
 */
export function observeForeignBan(state: JailState, ban: PastBan, nowMs: number): void {
  advanceClock(state, nowMs);
  const marks = state.bans;
  let known = NO_MARK;
  for (let mark = marks.first(ban.ipKey); mark !== NO_MARK; mark = marks.next(mark)) {
    if (marks.jail(mark) === ban.jail && marks.createdAtMs(mark) === ban.createdAtMs) {
      known = mark;
      break;
    }
  }
  if (known === NO_MARK) {
    recordBan(state, ban, nowMs, false);
    return;
  }
  if (ban.expiresAtMs > marks.expiresAtMs(known)) marks.setExpires(known, ban.expiresAtMs);
  if (ban.liftedAtMs !== null && marks.liftedAtMs(known) === null) liftMark(state, ban.ipKey, known, ban.liftedAtMs);
}

/** An admin lifted the ip_key's active ban in `jail` (null = every jail) early. */
export function observeUnban(state: JailState, ipKey: string, jail: string | null): void {
  const marks = state.bans;
  for (let mark = marks.first(ipKey); mark !== NO_MARK; mark = marks.next(mark)) {
    if ((jail === null || marks.jail(mark) === jail) && marks.liftedAtMs(mark) === null && marks.expiresAtMs(mark) > state.clockMs) {
      liftMark(state, ipKey, mark, state.clockMs);
    }
  }
}

/** Drops windows with nothing left inside findtime and bans past memory. Cheap: stops at the first recently touched window. */
export function pruneJailState(state: JailState, nowMs: number): void {
  advanceClock(state, nowMs);
  // Windows are in update order; one touched within findtime may hold live entries, and so may all after it.
  for (const jail of state.jails) jail.windows.pruneOlderThan(nowMs - jail.findtimeMs);
  // A pass over every remembered key: a few ms at 200,000, every PRUNE tick; cheaper in
  // memory than a schedule per key, which cost more than the bans it schedules.
  for (const ipKey of state.bans.keys()) forgetBansPastMemory(state, ipKey, nowMs);
}

/** Forgets ipKey's ban marks once the last of them has ended longer than the memory ago. */
function forgetBansPastMemory(state: JailState, ipKey: string, nowMs: number): void {
  const marks = state.bans;
  if (!marks.has(ipKey)) return;
  let end = -Infinity;
  for (let mark = marks.first(ipKey); mark !== NO_MARK; mark = marks.next(mark)) end = Math.max(end, marks.effectiveEnd(mark));
  if (end + state.banMemoryMs <= nowMs) marks.forget(ipKey);
}

/** The longest findtime of the jails that count events (recidive's counts bans): how far back their windows reach. */
export function eventFindtimeMs(state: JailState): number {
  return Math.max(0, ...state.jails.filter((jail) => !jail.countsBans).map((jail) => jail.findtimeMs));
}

/**
 * Rebuilds windows and ban history after a restart (from the events and bans in SQLite),
 * replaying them in time order under the same rules as live, but deciding nothing: a ban
 * that was due is in `bans` already. Pass events from the last max(findtime) and bans
 * (lifted ones too) from at least the last max(maxtime) plus the longest ban; older bans
 * simply stop counting towards escalation. The bans of the events' keys are enough: any
 * other key's bans can come later, through restoreBanHistory, when that key is met.
 */
export function restoreJailState(
  state: JailState,
  input: { events: Iterable<JailEvent>; bans: Iterable<PastBan> },
  nowMs: number,
): void {
  replay(state, input, nowMs);
  pruneJailState(state, nowMs);
}

/** Events and bans in time order, deciding nothing; events of one time in the order they were stored (a success after the failures it forgives). */
function replay(state: JailState, input: { events: Iterable<JailEvent>; bans: Iterable<PastBan> }, nowMs: number): void {
  advanceClock(state, nowMs);
  const events = [...input.events].sort((a, b) => a.occurredAtMs - b.occurredAtMs || a.seq - b.seq);
  const bans = [...input.bans].sort((a, b) => a.createdAtMs - b.createdAtMs);
  let e = 0;
  let b = 0;
  while (e < events.length || b < bans.length) {
    const nextBan = bans[b];
    const nextEvent = events[e];
    if (nextBan && (!nextEvent || nextBan.createdAtMs <= nextEvent.occurredAtMs)) {
      recordBan(state, nextBan, nowMs, false);
      b++;
      continue;
    }
    const event = nextEvent!;
    e++;
    if (event.type === 'login_succeeded') forgive(state, event);
    for (const jail of state.jailsByType.get(event.type) ?? []) {
      countInJail(state, jail, windowKey(jail, event.siteId, event.ipKey), event.ipKey, eventEntry(event), nowMs, false);
    }
  }
}

/**
 * Forgets what the state holds of one ip_key (its windows in every jail, on the given sites
 * too for jails scoped by site, and its ban marks) and rebuilds it from the key's stored
 * events and bans, replayed as restoreJailState does after a restart. For a batch whose savepoint
 * rolled back after it was judged: its events and bans are gone, and entries kept for them
 * would count a retried batch twice. Pass every site the key's windows may be on (those of
 * the rolled-back events and of the stored ones).
 */
export function rebuildKeyState(
  state: JailState,
  ipKey: string,
  siteIds: Iterable<string>,
  input: { events: Iterable<JailEvent>; bans: Iterable<PastBan> },
  nowMs: number,
): void {
  const sites = [...siteIds];
  for (const jail of state.jails) {
    jail.windows.delete(ipKey);
    if (jail.config.scope === 'site' && !jail.countsBans) for (const site of sites) jail.windows.delete(windowKey(jail, site, ipKey));
  }
  state.bans.forget(ipKey);
  replay(state, input, nowMs);
  // Only this key: a whole prune passes over every remembered key.
  forgetBansPastMemory(state, ipKey, nowMs);
}

/**
 * One ip_key's past bans, the first time the caller meets the key after a restart (before
 * it passes any event or ban of that key): recorded as restoreJailState records them,
 * deciding nothing, so escalation and recidive come out as if the restore had read them
 * all; forgotten again if the key's memory has run out, as pruneJailState would. Pass
 * the key's bans (lifted ones too) from the same look-back as restoreJailState's. A
 * no-op for a key whose bans the state remembers: the caller keeps those up to date.
 */
export function restoreBanHistory(state: JailState, ipKey: string, bans: readonly PastBan[], nowMs: number): void {
  if (state.bans.has(ipKey) || bans.length === 0) return;
  advanceClock(state, nowMs);
  for (const ban of [...bans].sort((a, b) => a.createdAtMs - b.createdAtMs)) recordBan(state, { ...ban, ipKey }, nowMs, false);
  const marks = state.bans;
  let end = -Infinity;
  for (let mark = marks.first(ipKey); mark !== NO_MARK; mark = marks.next(mark)) end = Math.max(end, marks.effectiveEnd(mark));
  if (end + state.banMemoryMs <= nowMs) marks.forget(ipKey);
}

/** Whether the state remembers bans of ipKey (the caller then need not restore its history). */
export function remembersBansOf(state: JailState, ipKey: string): boolean {
  return state.bans.has(ipKey);
}

export function jailStats(state: JailState): { trackedKeys: Record<string, number>; evictions: number } {
  return {
    trackedKeys: Object.fromEntries(state.jails.map((jail) => [jail.name, jail.windows.size])),
    evictions: state.evictions,
  };
}

// ---------------------------------------------------------------------------------------

function advanceClock(state: JailState, nowMs: number): void {
  if (nowMs > state.clockMs) state.clockMs = nowMs;
}

function windowKey(jail: Jail, siteId: string, ipKey: string): string {
  return jail.config.scope === 'site' && !jail.countsBans ? `${siteId}\u0000${ipKey}` : ipKey;
}

/** windowKey's inverse. */
function keyOfWindow(jail: Jail, key: string): { ipKey: string; siteId: string | null } {
  if (jail.config.scope !== 'site' || jail.countsBans) return { ipKey: key, siteId: null };
  const cut = key.indexOf('\u0000');
  return { ipKey: key.slice(cut + 1), siteId: key.slice(0, cut) };
}

const blankEntry = (): WindowEntry => ({ seq: 0, t: 0, attempts: 0, counted: 0, label: '', siteId: null, username: null });

function eventEntry(event: JailEvent): WindowEntry {
  return fillEntry(blankEntry(), event);
}

const scratchEntry = blankEntry();

/** `entry` as a new entry of `event` (countInJail then sets what it counts for). */
function fillEntry(entry: WindowEntry, event: JailEvent): WindowEntry {
  entry.seq = event.seq;
  entry.t = event.occurredAtMs;
  entry.attempts = event.weight;
  entry.counted = event.weight;
  entry.label = event.type;
  entry.siteId = event.siteId;
  entry.username = event.username === null ? null : event.username.toLowerCase();
  return entry;
}

function banOf(decision: BanDecision, nowMs: number): PastBan {
  return { ipKey: decision.ipKey, jail: decision.jail, createdAtMs: nowMs, expiresAtMs: decision.expiresAtMs, liftedAtMs: null };
}

function lastBanEnd(state: JailState, jail: string, ipKey: string): number {
  let end = -Infinity;
  const marks = state.bans;
  for (let mark = marks.first(ipKey); mark !== NO_MARK; mark = marks.next(mark)) if (marks.jail(mark) === jail) end = Math.max(end, marks.effectiveEnd(mark));
  return end;
}

/** Bans of the key before this one that still count (this jail's, or every jail's with overalljails). */
function previousBans(state: JailState, jail: Jail, ipKey: string, atMs: number): number {
  const overall = jail.config.bantime_increment.overalljails;
  let n = 0;
  let latestEnd = -Infinity;
  const marks = state.bans;
  for (let mark = marks.first(ipKey); mark !== NO_MARK; mark = marks.next(mark)) {
    if (marks.liftedAtMs(mark) !== null || (!overall && marks.jail(mark) !== jail.name) || marks.createdAtMs(mark) > atMs) continue;
    n++;
    latestEnd = Math.max(latestEnd, marks.effectiveEnd(mark));
  }
  return latestEnd + jail.maxtimeMs > atMs ? n : 0;
}

/**
 * fail2ban's observer makes a repeat offender need fewer failures: each one counts
 * (2^n)/2 + 1 times (n = previous bans, capped at 20), so after one ban a failure counts
 * 2, after two 3, after three 5. Only in jails with bantime_increment, as in fail2ban.
 */
function repeatOffenderMultiplier(previous: number): number {
  return previous > 0 ? (1 << Math.min(previous, 20)) / 2 + 1 : 1;
}

/**
 * Adds one entry to a jail's window for `key` and, when `decide`, returns the ban if some
 * window of findtime now reaches maxretry. O(1) amortised for events arriving in order;
 * an out-of-order event costs a binary search plus a pass over the key's own entries,
 * which stay below about 2 × maxretry because a window that reaches maxretry is cleared.
 */
function countInJail(
  state: JailState,
  jail: Jail,
  key: string,
  ipKey: string,
  entry: WindowEntry,
  nowMs: number,
  decide: boolean,
  admit?: AdmitDecision,
): BanDecision | null {
  const cutoff = nowMs - jail.findtimeMs;
  if (entry.t <= cutoff) return null; // too old to count, as fail2ban ignores old log lines
  const lastEnd = lastBanEnd(state, jail.name, ipKey);
  if (entry.t < lastEnd) return null;
  if (decide && nowMs < lastEnd) return null; // still banned here: no second decision

  const increment = jail.config.bantime_increment;
  const previous = increment.enabled ? previousBans(state, jail, ipKey, decide ? nowMs : entry.t) : 0;
  entry.counted = entry.attempts * repeatOffenderMultiplier(previous);

  const windows = jail.windows;
  if (!windows.has(key) && windows.size >= state.maxTrackedKeys) {
    const evicted = windows.evictOldest();
    if (evicted !== null) {
      state.evictions++;
      state.forgotten?.push(keyOfWindow(jail, evicted));
    }
  }
  const window = windows.touch(key, nowMs);
  windows.dropOlderThan(window, Math.max(cutoff, lastEnd - 1));
  const slot = windows.insert(window, entry);
  if (!decide) return null;

  const trigger = findTrigger(windows, window, slot, jail);
  if (!trigger) return null;
  const decision = decideBan(state, jail, ipKey, trigger.map((s) => entryAt(windows, s)), nowMs, previous);
  if (admit && !admit(decision)) {
    // A refused key stays one counted event from its ban, with no more entries than that takes.
    windows.dropFirstWhileSumStays(window, jail.config.maxretry);
    return null;
  }
  windows.delete(key);
  return decision;
}

/** What decideBan reads of an entry; only for the entries of a trigger, so rare. */
function entryAt(windows: WindowStore, slot: number): TriggerEntry {
  return { seq: windows.seq(slot), attempts: windows.attempts(slot), counted: windows.counted(slot), label: windows.label(slot) };
}

type TriggerEntry = Pick<WindowEntry, 'seq' | 'attempts' | 'counted' | 'label'>;

/**
 * The entry slots of a window (t − findtime, t] that reaches maxretry, among the windows
 * the new entry `slot` belongs to (those ending at its time up to findtime later), or null.
 */
function findTrigger(windows: WindowStore, window: number, slot: number, jail: Jail): number[] | null {
  const maxretry = jail.config.maxretry;
  const newT = windows.t(slot);
  // In order (the common case): everything kept is within findtime of the newest entry.
  if (slot === windows.last(window) && windows.t(windows.first(window)) > newT - jail.findtimeMs) {
    return windows.sum(window) >= maxretry ? windows.slots(window) : null;
  }
  // Out of order: the key's own entries, which stay below about 2 × maxretry, as an array.
  const entries = windows.slots(window);
  const t = (k: number) => windows.t(entries[k]!);
  const counted = (k: number) => windows.counted(entries[k]!);
  const index = entries.indexOf(slot);
  let lo = 0;
  while (t(lo) <= newT - jail.findtimeMs) lo++;
  let sum = 0;
  for (let k = lo; k <= index; k++) sum += counted(k);
  for (let end = index; ; ) {
    if (sum >= maxretry) return entries.slice(lo, end + 1);
    end++;
    if (end >= entries.length || t(end) >= newT + jail.findtimeMs) return null;
    sum += counted(end);
    while (t(lo) <= t(end) - jail.findtimeMs) sum -= counted(lo++);
  }
}

function decideBan(
  state: JailState,
  jail: Jail,
  ipKey: string,
  trigger: TriggerEntry[],
  nowMs: number,
  previousForRetries: number,
): BanDecision {
  const config = jail.config;
  const increment = config.bantime_increment;
  // banCount reports this jail's history even when the duration does not escalate.
  const previous = increment.enabled ? previousForRetries : previousBans(state, jail, ipKey, nowMs);
  let seconds = config.bantime;
  if (increment.enabled) {
    // fail2ban's bantime.increment: bantime × factor^n, or × multipliers[min(n, len−1)]; capped at maxtime; plus random up to rndtime.
    const multiplier = increment.multipliers
      ? increment.multipliers[Math.min(previous, increment.multipliers.length - 1)]!
      : increment.factor ** Math.min(previous, 64);
    seconds = Math.min(config.bantime * multiplier, increment.maxtime);
    if (increment.rndtime) seconds += Math.floor(state.random() * (increment.rndtime + 1));
  }
  seconds = Math.min(Math.round(seconds), MAX_BAN_SECONDS);
  return {
    ipKey,
    jail: jail.name,
    banCount: previous + 1,
    durationSeconds: seconds,
    expiresAtMs: nowMs + seconds * 1000,
    reason: describeTrigger(jail, trigger, previousForRetries),
    triggerEventSeqs: jail.countsBans ? [] : trigger.map((entry) => entry.seq),
  };
}

function describeTrigger(jail: Jail, trigger: TriggerEntry[], previous: number): string {
  const byLabel = new Map<string, number>();
  let attempts = 0;
  let counted = 0;
  for (const entry of trigger) {
    byLabel.set(entry.label, (byLabel.get(entry.label) ?? 0) + entry.attempts);
    attempts += entry.attempts;
    counted += entry.counted;
  }
  const parts = [...byLabel].map(([label, n]) => `${label}×${n}`).join(', ');
  const noun = jail.countsBans ? (attempts === 1 ? 'ban' : 'bans') : attempts === 1 ? 'failure' : 'failures';
  let reason = `${attempts} ${noun} (${parts}) in ${formatDuration(jail.config.findtime)}`;
  if (counted !== attempts) {
    reason += `, counted as ${counted} after ${previous} previous ${previous === 1 ? 'ban' : 'bans'}`;
  }
  return reason;
}

/** Remembers a ban and, unless it was lifted, counts it in the jails that count bans. */
function recordBan(state: JailState, ban: PastBan, nowMs: number, decide: boolean): BanDecision[] {
  if (!state.bans.has(ban.ipKey) && state.bans.size >= state.maxBanKeys) forgetLeastRecentlyBanned(state);
  state.bans.append(ban.ipKey, ban);
  if (ban.liftedAtMs !== null) return [];

  const decisions: BanDecision[] = [];
  for (const jail of state.banJails) {
    if (jail.name === ban.jail) continue;
    const entry: WindowEntry = {
      // A ban's entry is known by its jail (label) and time: no event behind it.
      seq: 0,
      t: ban.createdAtMs,
      attempts: 1,
      counted: 1,
      label: ban.jail,
      siteId: null,
      username: null,
    };
    const decision = countInJail(state, jail, ban.ipKey, ban.ipKey, entry, nowMs, decide);
    if (decision) decisions.push(decision, ...recordBan(state, banOf(decision, nowMs), nowMs, decide));
  }
  return decisions;
}

/** A lifted ban stops counting: for escalation (its mark) and in the jails that count bans. */
function liftMark(state: JailState, ipKey: string, mark: number, liftedAtMs: number): void {
  state.bans.setLifted(mark, liftedAtMs);
  const markJail = state.bans.jail(mark);
  const markCreated = state.bans.createdAtMs(mark);
  for (const jail of state.banJails) {
    const window = jail.windows.get(ipKey);
    if (window === NO_WINDOW) continue;
    jail.windows.removeLabelled(window, markJail, markCreated);
    if (jail.windows.count(window) === 0) jail.windows.delete(ipKey);
  }
}

/** A successful login forgives the address's failures for that username on that site. */
function forgive(state: JailState, event: JailEvent): void {
  if (event.username === null) return;
  const username = event.username.toLowerCase();
  for (const jail of state.forgivingJails) {
    const key = windowKey(jail, event.siteId, event.ipKey);
    const window = jail.windows.get(key);
    if (window === NO_WINDOW) continue;
    jail.windows.removeUsername(window, username, event.siteId);
    if (jail.windows.count(window) === 0) jail.windows.delete(key);
  }
}

/**
 * Over maxBanKeys: forgets the key banned least recently. Its bans ended first, or end
 * first among bans of one length; a flood of new keys thus forgets old history, never the
 * bans it just caused.
 */
function forgetLeastRecentlyBanned(state: JailState): void {
  const ipKey = state.bans.forgetOldest();
  if (ipKey === null) return;
  state.banKeyEvictions++;
  state.forgotten?.push({ ipKey, siteId: null });
  // Its counts in the jails that count bans go with it: they come from those bans, and a
  // caller restoring the key's history later (restoreBanHistory) would count them twice.
  for (const jail of state.banJails) jail.windows.delete(ipKey);
}
