// Turns each tick's active conditions into changes: "firing" once a condition has lasted
// its hold time, "resolved" once a fired condition is gone. Pure: state in, state out.
import { CONDITION_KINDS, conditionKey, type ConditionKind, type ConditionObservation } from './conditions.ts';

export interface TrackedCondition {
  kind: ConditionKind;
  siteId: string | null;
  siteName: string | null;
  firstSeenMs: number;
  firedAtMs: number | null;
  summary: string;
  detail: Record<string, unknown>;
}

export type ConditionState = ReadonlyMap<string, TrackedCondition>;

export interface ConditionChange {
  status: 'firing' | 'resolved';
  kind: ConditionKind;
  siteId: string | null;
  siteName: string | null;
  summary: string;
  detail: Record<string, unknown>;
  atMs: number;
  /** When the condition began (firing) or how long it lasted (resolved). */
  sinceMs: number;
}

export const emptyConditionState = (): ConditionState => new Map();

const RESOLVED_TEXT: Record<ConditionKind, (c: TrackedCondition) => string> = {
  shield_up: (c) => `login shield down at ${c.siteName ?? c.siteId}: the attack has stopped`,
  enforcement_failing: () => 'enforcement at Cloudflare works again',
  edge_full: () => 'edge capacity available again: no ban is held only at the origin',
  site_silent: (c) => `${c.siteName ?? c.siteId} is sending events again`,
  shedding: () => 'the service no longer sheds load',
};

export function evaluateConditions(
  previous: ConditionState,
  observations: readonly ConditionObservation[],
  nowMs: number,
): { state: ConditionState; changes: ConditionChange[] } {
  const next = new Map<string, TrackedCondition>();
  const changes: ConditionChange[] = [];
  for (const obs of observations) {
    const key = conditionKey(obs.kind, obs.siteId);
    if (next.has(key)) continue;
    const before = previous.get(key);
    const firstSeenMs = Math.min(before?.firstSeenMs ?? nowMs, obs.sinceMs ?? nowMs);
    let firedAtMs = before?.firedAtMs ?? null;
    if (firedAtMs === null && nowMs - firstSeenMs >= obs.holdMs) {
      firedAtMs = nowMs;
      changes.push({ status: 'firing', kind: obs.kind, siteId: obs.siteId, siteName: obs.siteName, summary: obs.summary, detail: obs.detail, atMs: nowMs, sinceMs: firstSeenMs });
    }
    next.set(key, { kind: obs.kind, siteId: obs.siteId, siteName: obs.siteName, firstSeenMs, firedAtMs, summary: obs.summary, detail: obs.detail });
  }
  for (const [key, gone] of previous) {
    if (next.has(key) || gone.firedAtMs === null) continue; // never told: nothing to resolve
    changes.push({ status: 'resolved', kind: gone.kind, siteId: gone.siteId, siteName: gone.siteName, summary: RESOLVED_TEXT[gone.kind](gone), detail: { was: gone.summary }, atMs: nowMs, sinceMs: gone.firstSeenMs });
  }
  return { state: next, changes };
}

/** One sent message's lines as its audit row keeps them. */
export interface SentItems {
  atMs: number;
  items: Array<{ kind: string; site_id: string | null; site_name?: string | null; status: string; summary?: string }>;
}

/**
 * The conditions already told and not yet resolved, from the sent messages oldest first:
 * after a restart a shield still up is not announced again, and one that came down while
 * the service was away still gets its "resolved".
 */
export function conditionStateFromSent(sent: readonly SentItems[]): ConditionState {
  const state = new Map<string, TrackedCondition>();
  const kinds = new Set<string>(CONDITION_KINDS);
  for (const message of sent) {
    for (const item of message.items) {
      if (!kinds.has(item.kind)) continue;
      const key = conditionKey(item.kind, item.site_id);
      if (item.status === 'resolved') state.delete(key);
      else if (item.status === 'firing' && !state.has(key)) {
        state.set(key, { kind: item.kind as ConditionKind, siteId: item.site_id, siteName: item.site_name ?? null, firstSeenMs: message.atMs, firedAtMs: message.atMs, summary: item.summary ?? item.kind, detail: {} });
      }
    }
  }
  return state;
}
