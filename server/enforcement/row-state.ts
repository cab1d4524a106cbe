// The per-ip_key row state machine, written in one place. Every step a placement, the
// worker or the reconciler takes is one of these transitions, and each is one statement,
// so a state and the id that goes with it always land together:
//
//   pending ─► applying ─► active ─► removing ─► removed
//      ▲           │          │          │
//      └── failed ◄┴──────────┴──────────┘        foreign: someone else's object covers it
//   origin_only: pending with placement 'origin_only' (no edge slot; the plugin serves the 403)
//   range: pending with placement 'range' (a range's own row, keyed by the range, is at the edge)
import type { EnforcementRow, EnforcementStore, EnforcementWrite, PlacementName } from '../store/enforcement.ts';

// Local, so that types.ts may name RowStates without an import cycle.
const iso = (ms: number) => new Date(ms).toISOString();

type Patch = Partial<Omit<EnforcementWrite, 'ip_key' | 'updated_at'>>;

interface Where {
  backend: string;
  scope: string;
  placement: PlacementName | null;
}

interface Shape {
  target: string;
  value: string;
  mode: string | null;
}

export function createRowStates(store: EnforcementStore, now: () => number) {
  function write(ipKey: string, patch: Patch): EnforcementRow {
    const previous = store.enforcementOf(ipKey);
    const row: EnforcementWrite = {
      ip_key: ipKey,
      backend: previous?.backend ?? 'pending',
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
      placement: previous?.placement ?? null,
      ...patch,
      updated_at: iso(now()),
    };
    store.saveEnforcement(row);
    return { ...row, rev: (previous?.rev ?? 0) + 1 };
  }

  return {
    /** A create is about to leave: until its outcome is known, a lost answer means "look it up". */
    applying: (ipKey: string, where: Where, shape: Shape) =>
      write(ipKey, { ...where, ...shape, state: 'applying', cloudflare_id: null, create_uncertain: 1, notes: null }),

    /** Cloudflare holds our object with this id (or, for a list item, at least the item). */
    active: (ipKey: string, where: Where, fields: Shape & { id: string | null; notes: string; until: string }) =>
      write(ipKey, {
        ...where,
        target: fields.target,
        value: fields.value,
        mode: fields.mode,
        state: 'active',
        cloudflare_id: fields.id,
        create_uncertain: 0,
        notes: fields.notes,
        applied_until: fields.until,
        foreign_rule_id: null,
        attempts: 0,
        last_error: null,
        applied_at: iso(now()),
      }),

    /** Someone else's object covers the ban: never deleted by EdgeJail. */
    foreign: (ipKey: string, where: Where, fields: Shape & { foreignId: string; notes: string; until: string }) =>
      write(ipKey, {
        ...where,
        target: fields.target,
        value: fields.value,
        mode: fields.mode,
        state: 'foreign',
        cloudflare_id: null,
        create_uncertain: 0,
        notes: fields.notes,
        applied_until: fields.until,
        foreign_rule_id: fields.foreignId,
        attempts: 0,
        last_error: null,
        applied_at: iso(now()),
      }),

    /** A delete is about to leave. */
    removing: (ipKey: string) => write(ipKey, { state: 'removing' }),

    /** Nothing of ours is at the edge for this ip_key, and no slot is held. */
    removed: (ipKey: string) =>
      write(ipKey, { state: 'removed', cloudflare_id: null, create_uncertain: 0, attempts: 0, last_error: null, placement: null }),

    /** Nothing is placed; the worker (re)places it. `keepSlot` leaves the row in its placement. */
    pending: (ipKey: string, keepSlot = true) =>
      write(ipKey, { state: 'pending', cloudflare_id: null, create_uncertain: 0, foreign_rule_id: null, ...(keepSlot ? {} : { placement: null }) }),

    /** No edge slot is free for it: the origin's 403 cache serves it until one frees up. */
    originOnly: (ipKey: string, until: string) =>
      write(ipKey, {
        backend: 'origin_only', scope: null, state: 'pending', placement: 'origin_only', cloudflare_id: null, create_uncertain: 0,
        foreign_rule_id: null, applied_until: until, attempts: 0, last_error: null,
      }),

    /** A range placed at the edge stands for this ban: nothing of its own is there. */
    inRange: (ipKey: string, rangeKey: string, until: string) =>
      write(ipKey, {
        backend: 'range', scope: rangeKey, state: 'pending', placement: 'range', cloudflare_id: null, create_uncertain: 0,
        foreign_rule_id: null, applied_until: until, attempts: 0, last_error: null,
      }),

    /** A call failed. `createUncertain` says whether it may have created something anyway. */
    failed: (ipKey: string, error: string, createUncertain?: boolean) =>
      write(ipKey, { state: 'failed', last_error: error.slice(0, 500), ...(createUncertain === undefined ? {} : { create_uncertain: createUncertain ? 1 : 0 }) }),

    /** Cannot be enforced at Cloudflare at all: it stays at the origin. */
    unenforceable: (ipKey: string, error: string) =>
      write(ipKey, { state: 'failed', last_error: error.slice(0, 500), placement: 'origin_only' }),

    /** Counts a failed attempt (the outbox retries it). */
    attemptFailed: (row: EnforcementRow, error: string) => write(row.ip_key, { attempts: row.attempts + 1, last_error: error.slice(0, 500) }),

    /** What Cloudflare says the object's notes/mode are, when they differ from what the ban wants. */
    observed: (ipKey: string, fields: { notes: string; mode?: string | null }) =>
      write(ipKey, { notes: fields.notes, ...(fields.mode !== undefined ? { mode: fields.mode } : {}) }),

    /** Dry-run: what would be placed, recorded as placed nowhere. */
    dryRun: (ipKey: string, shape: Shape & { notes: string; until: string }) =>
      write(ipKey, {
        backend: 'dry_run', scope: 'dry_run', placement: null, state: 'dry_run', target: shape.target, value: shape.value, mode: shape.mode,
        notes: shape.notes, applied_until: shape.until, attempts: 0, last_error: null, applied_at: iso(now()),
      }),
  };
}

export type RowStates = ReturnType<typeof createRowStates>;
