// What is worth a message, as pure functions over a snapshot and a clock: no I/O, so the
// rules are tested as tables. Each active condition is named by kind and site; the
// evaluator (evaluator.ts) turns their comings and goings into "firing" and "resolved".
import type { CloudflareCallSnapshot, EnforcementHealth, NotifySnapshot, ShieldSnapshot, ShedSnapshot, SiteSnapshot } from './snapshot.ts';

export const CONDITION_KINDS = ['shield_up', 'enforcement_failing', 'edge_full', 'site_silent', 'shedding'] as const;
export type ConditionKind = (typeof CONDITION_KINDS)[number];

export interface ConditionObservation {
  kind: ConditionKind;
  siteId: string | null;
  siteName: string | null;
  /** One line a person can act on. */
  summary: string;
  detail: Record<string, unknown>;
  /** When the data says it began (e.g. the first failing call); null: when first seen. */
  sinceMs: number | null;
  /** How long it must last before it is worth a message. */
  holdMs: number;
}

export interface ConditionSettings {
  enforcementFailingAfterMs: number;
  /** A site that has sent nothing for this long may have lost its plugin. */
  siteSilentAfterMs: number;
}

export const SITE_SILENT_AFTER_MS = 86_400_000;
/** Errors in a row before 5xx, time-outs or refusals count as "repeated". */
const REPEATED_ERRORS = 3;

export function conditionKey(kind: string, siteId: string | null): string {
  return `${kind}\u0000${siteId ?? ''}`;
}

export function shieldConditions(shields: readonly ShieldSnapshot[]): ConditionObservation[] {
  return shields
    .filter((s) => s.up)
    .map((s) => ({
      kind: 'shield_up' as const,
      siteId: s.siteId,
      siteName: s.siteName,
      summary: `login shield up at ${s.siteName}${s.reason ? `: ${s.reason}` : ''}${s.until ? ` (until ${s.until} while the attack lasts)` : ''}`,
      detail: { since: s.since, until: s.until, reason: s.reason },
      sinceMs: s.since ? Date.parse(s.since) : null,
      holdMs: 0,
    }));
}

type FailureCause = 'token_refused' | 'cloudflare_errors' | 'rate_limited' | 'rejected';

function causeOf(call: CloudflareCallSnapshot): FailureCause {
  const status = call.httpStatus;
  if (status === 401 || status === 403) return 'token_refused';
  if (status === 429) return 'rate_limited';
  if (status !== null && status >= 400 && status < 500 && status !== 408 && status !== 409) return 'rejected';
  return 'cloudflare_errors'; // 5xx, 408/409, time-outs and network errors
}

const CAUSE_TEXT: Record<FailureCause, string> = {
  token_refused: 'Cloudflare refuses the API token (HTTP 401/403): check that it is valid and has the permissions `edgejail cloudflare verify` names',
  cloudflare_errors: 'Cloudflare calls keep failing (5xx, time-outs or network errors)',
  rate_limited: 'Cloudflare keeps answering 429: the API rate limit is hit',
  rejected: 'Cloudflare keeps rejecting our requests (HTTP 4xx)',
};

/** The current run of failing calls (newest first; 404s are routine lookups and skipped). */
function failingStreak(calls: readonly CloudflareCallSnapshot[]): CloudflareCallSnapshot[] {
  const streak: CloudflareCallSnapshot[] = [];
  for (const call of calls) {
    if (!call.ok && call.httpStatus === 404) continue;
    if (call.ok) break;
    streak.push(call);
  }
  return streak;
}

export function enforcementConditions(health: EnforcementHealth, settings: ConditionSettings): ConditionObservation[] {
  if (health.mode !== 'enforcing') return [];
  const out: ConditionObservation[] = [];
  const reasons: string[] = [];
  const detail: Record<string, unknown> = {};
  let sinceMs: number | null = null;
  const streak = failingStreak(health.recentCalls);
  const causes = new Set(streak.map(causeOf));
  const cause: FailureCause | null = causes.has('token_refused') ? 'token_refused' : streak.length >= REPEATED_ERRORS ? causeOf(streak[0]!) : null;
  if (cause) {
    reasons.push(CAUSE_TEXT[cause]);
    const last = streak[0]!;
    sinceMs = streak[streak.length - 1]!.atMs;
    Object.assign(detail, { cause, failed_calls: streak.length, last_status: last.httpStatus, last_operation: last.operation, last_error: last.error?.slice(0, 300) ?? null });
  }
  if (health.blockRule?.state === 'missing') {
    reasons.push(`the WAF rule that makes the IP list block is missing, so listed bans block nothing (${health.blockRule.detail}); run \`edgejail cloudflare setup\``);
    detail.block_rule = 'missing';
  }
  if (reasons.length) {
    out.push({
      kind: 'enforcement_failing',
      siteId: null,
      siteName: null,
      summary: `enforcement at Cloudflare is failing: ${reasons.join('; ')}`,
      detail,
      sinceMs,
      holdMs: settings.enforcementFailingAfterMs,
    });
  }
  if (health.originOnly !== null && health.originOnly > 0) {
    out.push({
      kind: 'edge_full',
      siteId: null,
      siteName: null,
      summary: `edge capacity reached: ${health.originOnly} ban${health.originOnly === 1 ? ' is' : 's are'} held only at the origin (origin_only; the plugin still answers 403, but the requests reach PHP)`,
      detail: { origin_only: health.originOnly },
      sinceMs: null,
      holdMs: 0,
    });
  }
  return out;
}

export function siteSilenceConditions(sites: readonly SiteSnapshot[], nowMs: number, settings: ConditionSettings): ConditionObservation[] {
  const out: ConditionObservation[] = [];
  for (const site of sites) {
    const lastMs = site.lastEventAtMs ?? site.createdAtMs;
    if (nowMs - lastMs < settings.siteSilentAfterMs) continue;
    const hours = Math.floor((nowMs - lastMs) / 3_600_000);
    out.push({
      kind: 'site_silent',
      siteId: site.id,
      siteName: site.name,
      summary: site.lastEventAtMs === null
        ? `${site.name} has sent nothing since it was added ${hours} h ago: is the plugin installed and configured?`
        : `${site.name} has sent nothing for ${hours} h (last at ${new Date(lastMs).toISOString()}): the plugin may be broken, deactivated or removed`,
      detail: { last_event_at: site.lastEventAtMs === null ? null : new Date(lastMs).toISOString() },
      sinceMs: lastMs + settings.siteSilentAfterMs,
      holdMs: 0,
    });
  }
  return out;
}

export function sheddingConditions(shed: ShedSnapshot): ConditionObservation[] {
  if (shed.total === 0) return [];
  const reasons = Object.entries(shed.byReason).sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${reason} ${n}`).join(', ');
  return [{
    kind: 'shedding',
    siteId: null,
    siteName: null,
    summary: `the service is shedding load: ${shed.total} request${shed.total === 1 ? '' : 's'} refused with 429/503 in the last ${Math.round(shed.windowMs / 60_000)} min (${reasons}); the plugins spool and retry`,
    detail: { refused: shed.total, by_reason: shed.byReason },
    sinceMs: null,
    holdMs: 0,
  }];
}

/** Every condition active in this snapshot. */
export function detectConditions(snapshot: NotifySnapshot, nowMs: number, settings: ConditionSettings): ConditionObservation[] {
  return [
    ...shieldConditions(snapshot.shields),
    ...enforcementConditions(snapshot.enforcement, settings),
    ...siteSilenceConditions(snapshot.sites, nowMs, settings),
    ...sheddingConditions(snapshot.shed),
  ];
}
