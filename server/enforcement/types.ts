// Shared shapes of the enforcement core: what a placement must offer, what one attempt at
// one ip_key came to, and what a reconcile run reports.
import type { DesiredBlock, EnforcementRow, EnforcementStore } from '../store/enforcement.ts';
import type { CloudflareConfig } from '../cloudflare/config.ts';
import type { KeyLocks } from './key-locks.ts';
import type { RowStates } from './row-state.ts';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** What one attempt at one ip_key came to. `error` unset means the edge now matches the bans table. */
export interface KeyOutcome {
  ipKey: string;
  error?: unknown;
  /** The ip_key can never be enforced (e.g. a prefix Cloudflare refuses): do not retry. */
  permanent?: boolean;
  /** The placement had no room for it (capacity): the worker places it elsewhere at once. */
  noRoom?: boolean;
}

export interface ReconcileReport {
  at: string;
  backend: string;
  /** Tagged rules or items seen at Cloudflare. */
  seen: number;
  /** Tagged rules/items whose ban had ended, removed. */
  orphansRemoved: number;
  /** Active bans with nothing at Cloudflare, queued to be applied again. */
  missingReapplied: number;
  /** Rows whose stored id did not match what Cloudflare holds, corrected. */
  idsRepaired: number;
  /** Foreign rules that covered a ban and are gone, so ours is applied. */
  foreignGone: number;
  /** Keys left for the worker because they were busy during the run. */
  skippedBusy: number;
  errors: string[];
  durationMs: number;
  /** List placement only: whether the WAF rule that makes list items block is in place. */
  blockRule?: { state: 'present' | 'missing' | 'unknown'; detail: string };
  /** The login shield's rules, reconciled zone by zone. */
  shield?: ShieldReconcileReport;
}

export interface ShieldReconcileReport {
  zones: number;
  seen: number;
  orphansRemoved: number;
  missingReapplied: number;
  idsRepaired: number;
  outdatedQueued: number;
  skippedBusy: number;
  errors: string[];
}

export const driftCount = (r: ReconcileReport) =>
  r.orphansRemoved + r.missingReapplied + r.idsRepaired + r.foreignGone +
  (r.shield ? r.shield.orphansRemoved + r.shield.missingReapplied + r.shield.idsRepaired + r.shield.outdatedQueued : 0);

export function emptyReport(backend: string, at: string): ReconcileReport {
  return { at, backend, seen: 0, orphansRemoved: 0, missingReapplied: 0, idsRepaired: 0, foreignGone: 0, skippedBusy: 0, errors: [], durationMs: 0 };
}

/**
 * One object EdgeJail placed at the edge, as read back from Cloudflare: a list item or an
 * access rule today, a site-level WAF rule tomorrow. `key` is what it stands for (an
 * ip_key for per-IP placements); `tag` is our mark on it, `id` what deletes it.
 */
export interface PlacedObject {
  key: string;
  id: string;
  tag: string;
  mode?: string;
}

/** One ip_key the worker wants blocked, with what the bans table and its row say now. */
export interface PlaceRequest {
  ipKey: string;
  desired: DesiredBlock;
  row: EnforcementRow | undefined;
}

/**
 * A way of holding bans at the edge, behind one interface: the worker asks it to place and
 * lift, the reconciler asks what it holds. Each adapter writes rows only through RowStates.
 */
export interface Placement {
  /** The slot name rows carry (`placement` column). */
  readonly name: 'list' | 'access_rule' | 'dry_run';
  /** What `cloudflare_enforcement.backend` says for rows it writes. */
  readonly backend: 'list' | 'access_rules' | 'dry_run';
  /** Where its objects live, e.g. `account:<id>`; stored with each row. */
  readonly scopeLabel: string;
  /** How many ip_keys one call takes, and how many calls may run at once. */
  readonly batchSize: number;
  readonly concurrency: number;
  /** Slots it may fill right now (null: no count limits it). */
  capacity(): number | null;
  place(requests: PlaceRequest[]): Promise<KeyOutcome[]>;
  /** Removes what each row says was placed (by id; by tag when the id is unknown). */
  lift(rows: EnforcementRow[]): Promise<KeyOutcome[]>;
  /** Every tagged object it holds at Cloudflare (the reconciler's full read). */
  readPlaced(): Promise<PlacedObject[]>;
  /** Deletes tagged objects no ban wants any more. Returns the ones deleted. */
  removePlaced(objects: PlacedObject[]): Promise<PlacedObject[]>;
  /** Whether a placed object already says what the ban wants (tag, mode). */
  isCurrent(object: PlacedObject, desired: DesiredBlock): boolean;
  /** Whether the rule or item someone else made, which covered this row, is still there. */
  foreignStillThere(row: EnforcementRow): Promise<boolean>;
  /** What a row looks like once this object is known to be ours and in place. */
  activeFields(ipKey: string, object: PlacedObject, desired: DesiredBlock): Parameters<RowStates['active']>[2];
  /** Checks whatever else the placement needs to block (the list's WAF rule), once per reconcile. */
  checkSetup?(): Promise<ReconcileReport['blockRule']>;
}

export interface ReconcileContext {
  locks: KeyLocks;
  /** Row revisions when the run began: a row that moved since is the worker's, not ours to repair. */
  revisions: Map<string, number>;
}

export interface PlacementDeps {
  store: EnforcementStore;
  rows: RowStates;
  config: CloudflareConfig;
  now: () => number;
  logger: Logger;
}
