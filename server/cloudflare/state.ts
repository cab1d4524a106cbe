// Shared shapes of the enforcement machinery: the per-ip_key row as each step writes
// it, what a backend must offer the enforcer, and what a reconcile run reports.
import type { EnforcementRow, EnforcementStore, EnforcementWrite } from '../store/enforcement.ts';
import type { CloudflareConfig } from './config.ts';
import type { KeyLocks } from './key-locks.ts';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Writes one ip_key's row: the previous row with `patch` applied. Each call is one
 * statement, so a state and the id that goes with it always land together.
 */
export function writeEnforcement(
  store: EnforcementStore,
  ipKey: string,
  backend: string,
  nowIso: string,
  patch: Partial<Omit<EnforcementWrite, 'ip_key' | 'updated_at'>>,
): EnforcementRow {
  const previous = store.enforcementOf(ipKey);
  const row: EnforcementWrite = {
    ip_key: ipKey,
    backend,
    scope: previous?.scope ?? null,
    state: previous?.state ?? 'pending',
    cloudflare_id: previous?.cloudflare_id ?? null,
    create_uncertain: previous?.create_uncertain ?? 0,
    target: previous?.target ?? null,
    value: previous?.value ?? null,
    mode: previous?.mode ?? null,
    notes: previous?.notes ?? null,
    applied_until: previous?.applied_until ?? null,
    foreign_rule_id: previous?.foreign_rule_id ?? null,
    attempts: previous?.attempts ?? 0,
    last_error: previous?.last_error ?? null,
    applied_at: previous?.applied_at ?? null,
    ...patch,
    updated_at: nowIso,
  };
  store.saveEnforcement(row);
  return { ...row, rev: (previous?.rev ?? 0) + 1 };
}

/** What one attempt at one ip_key came to. `error` unset means Cloudflare now matches the bans table. */
export interface KeyOutcome {
  ipKey: string;
  error?: unknown;
  /** The ip_key can never be enforced (e.g. a prefix Cloudflare refuses): do not retry. */
  permanent?: boolean;
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
  /** List backend only: whether the WAF rule that makes list items block is in place. */
  blockRule?: { state: 'present' | 'missing' | 'unknown'; detail: string };
}

export const driftCount = (r: ReconcileReport) => r.orphansRemoved + r.missingReapplied + r.idsRepaired + r.foreignGone;

export function emptyReport(backend: string, at: string): ReconcileReport {
  return { at, backend, seen: 0, orphansRemoved: 0, missingReapplied: 0, idsRepaired: 0, foreignGone: 0, skippedBusy: 0, errors: [], durationMs: 0 };
}

export interface ReconcileContext {
  locks: KeyLocks;
  /** Row revisions when the run began: a row that moved since is the worker's, not ours to repair. */
  revisions: Map<string, number>;
}

export interface EnforcementBackend {
  readonly name: 'access_rules' | 'list' | 'dry_run';
  /** Where our rules live, e.g. `account:<id>`; stored with each row. */
  readonly scopeLabel: string;
  /** How many ip_keys one enforce() call takes, and how many calls may run at once. */
  readonly batchSize: number;
  readonly concurrency: number;
  enforce(ipKeys: string[]): Promise<KeyOutcome[]>;
  reconcile(context: ReconcileContext): Promise<ReconcileReport>;
}

export interface BackendDeps {
  store: EnforcementStore;
  config: CloudflareConfig;
  now: () => number;
  logger: Logger;
}
