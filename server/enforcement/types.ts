// Shared shapes of the enforcement core: what a placement must offer, what one attempt at
// one ip_key came to, and what a reconcile run reports.
import type { DesiredBlock, EnforcementRow, EnforcementStore } from '../store/enforcement.ts';
import type { CloudflareConfig } from '../cloudflare/config.ts';
import type { KeyLocks } from './key-locks.ts';
import type { RowStates } from './row-state.ts';
import type { DesiredView } from './desired.ts';
import type { IpReconcile } from './ip-reconcile.ts';

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
 * One object EdgeJail placed at the edge, as read back from Cloudflare: a list item, an
 * access rule, or a login shield's WAF rule. `key` is the outbox key it stands for (an
 * ip_key or a range for per-IP placements, `shield:<site>` for the shield); `tag` is our
 * mark on it, `id` what deletes it.
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

export interface Found {
  placement: Placement;
  object: PlacedObject;
}

export type RepairKind = 'id_repaired' | 'missing_reapplied' | 'foreign_rule_gone' | 'outdated_queued';

/** What a placement's judgement of one key hands back to the reconciler, which counts and audits it. */
export interface ReconcileSink {
  /** A tagged object nothing wants: the reconciler deletes it through its placement. */
  orphan(found: Found): void;
  repaired(kind: RepairKind, key: string, banId: number | null, placement: Placement, detail: Record<string, unknown>): void;
  /** Something the placement could not judge this run (e.g. a zone it could not read). */
  error(text: string): void;
}

/** The reconcile run a judgement is part of. */
export interface ReconcileRun {
  placements: Placement[];
  /** Placements whose objects could not be read: nothing is proven about their keys. */
  unread: Set<string>;
  sink: ReconcileSink;
}

/**
 * A way of holding bans, or a site's login shield, at the edge: the one interface the
 * worker and the one reconciler talk to. The reconciler reads what each placement holds,
 * hands every key to the placement that `handles` it to judge against what is wanted, and
 * deletes the orphans the judgements name. Each adapter writes rows only through its store.
 */
export interface Placement {
  /** The slot name rows carry (`placement` column), or `login_shield`. */
  readonly name: 'list' | 'access_rule' | 'dry_run' | 'login_shield';
  /** What `cloudflare_enforcement.backend` (and the audit log) says for it. */
  readonly backend: 'list' | 'access_rules' | 'dry_run' | 'login_shield';
  /** Where its objects live, e.g. `account:<id>`; stored with each row. */
  readonly scopeLabel: string;
  /** Whether this placement's kind of key it is to judge (ip_keys and ranges, or `shield:<site>`). */
  handles(key: string): boolean;
  /** Every tagged object it holds at Cloudflare (the reconciler's full read). */
  readPlaced(): Promise<PlacedObject[]>;
  /** Deletes tagged objects no ban wants any more. Returns the ones deleted. */
  removePlaced(objects: PlacedObject[]): Promise<PlacedObject[]>;
  /** Keys with a live row or something wanted at the edge, beyond what the read found. */
  reconcileKeys(): Iterable<string>;
  /** Compares one key with what the edge holds for it (`found`, across placements) and repairs its rows. */
  judge(key: string, found: Found[], run: ReconcileRun): Promise<void>;
  /** After one of its orphans was deleted: the row it stood for is done with, if nothing else holds it. */
  orphanRemoved(object: PlacedObject, run: ReconcileRun): void;
  /** What the audit row of a repair on this object says about it. */
  describe(object: PlacedObject): Record<string, unknown>;
  /** Checks whatever else the placement needs to block (the list's WAF rule), once per reconcile. */
  checkSetup?(): Promise<ReconcileReport['blockRule']>;
}

/** A per-IP placement: the worker gives it ip_keys and ranges to place and lift, within its capacity. */
export interface IpPlacement extends Placement {
  readonly name: 'list' | 'access_rule' | 'dry_run';
  readonly backend: 'list' | 'access_rules' | 'dry_run';
  /** How many ip_keys one call takes, and how many calls may run at once. */
  readonly batchSize: number;
  readonly concurrency: number;
  /** Slots it may fill right now (null: no count limits it). */
  capacity(): number | null;
  place(requests: PlaceRequest[]): Promise<KeyOutcome[]>;
  /** Removes what each row says was placed (by id; by tag when the id is unknown). */
  lift(rows: EnforcementRow[]): Promise<KeyOutcome[]>;
  /** Whether a placed object already says what the ban wants (tag, mode). */
  isCurrent(object: PlacedObject, desired: DesiredBlock): boolean;
  /** Whether the rule or item someone else made, which covered this row, is still there. */
  foreignStillThere(row: EnforcementRow): Promise<boolean>;
  /** What a row looks like once this object is known to be ours and in place. */
  activeFields(ipKey: string, object: PlacedObject, desired: DesiredBlock): Parameters<RowStates['active']>[2];
}

export const isIpPlacement = (p: Placement): p is IpPlacement => p.name !== 'login_shield';

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
  desired: DesiredView;
  /** The per-IP judgement every per-IP placement of this enforcer shares. */
  ipReconcile: IpReconcile;
}
