// The Cloudflare sync card: is the enforcer keeping Cloudflare in step with the bans,
// and how much of the API budget is left.
import type { EnforcerStatus } from '../../enforcement/worker.ts';
import { driftCount } from '../../enforcement/types.ts';
import { html, type Renderable } from '../html.ts';
import { formatCount, formatSpan, formatTime, relativeTime } from '../format.ts';
import { cloudflareBadge } from './components.ts';

const BACKENDS: Record<string, string> = { access_rules: 'IP Access Rules', list: 'IP list + WAF rule' };

/** Where a ban is enforced, in a person's words (the bans table and this card). */
export const PLACEMENT_LABELS: Record<string, string> = {
  list: 'list',
  access_rule: 'access rule',
  range: 'range',
  origin_only: 'origin only',
  pending: 'pending',
};

// The enforcement table's own words, mapped to the ones the bans table shows.
const ROW_STATES: Record<string, string> = { active: 'applied' };

function row(label: string, value: Renderable) {
  return html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
}

function blockRuleCell(rule: { state: string; detail: string }) {
  const badge = rule.state === 'present' ? 'badge-good' : rule.state === 'missing' ? 'badge-bad' : 'badge-info';
  const word = rule.state === 'present' ? 'in place' : rule.state === 'missing' ? 'missing' : 'not checked';
  return html`<span class="badge ${badge}">${word}</span> <span class="detail">${rule.detail}</span>`;
}

export function cloudflareCard(status: EnforcerStatus | null, nowMs: number) {
  if (!status) {
    return html`<section class="card" aria-labelledby="cf-heading"><h2 id="cf-heading">Cloudflare sync</h2>
      <p class="empty">The enforcer's status is unavailable; the service log says why.</p></section>`;
  }
  const modeBadge = !status.running
    ? html`<span class="badge badge-bad">stopped</span>`
    : status.mode === 'dry_run'
      ? html`<span class="badge badge-info">dry-run: nothing is sent</span>`
      : html`<span class="badge badge-good">enforcing</span>`;
  const states = Object.entries(status.states).filter(([state, n]) => n > 0 && state !== 'removed');
  const report = status.lastReconcile;
  const drift = report ? driftCount(report) : 0;
  return html`<section class="card" aria-labelledby="cf-heading">
    <div class="card-head"><h2 id="cf-heading">Cloudflare sync</h2>${modeBadge}</div>
    <table class="compact kv"><tbody>
      ${row('Backend', html`${BACKENDS[status.backend] ?? status.backend} <span class="muted">${status.scope}</span>`)}
      ${row('Blocks', states.length ? html`<span class="badges">${states.map(([state, n]) => html`${cloudflareBadge(ROW_STATES[state] ?? state)} ${formatCount(n)} `)}</span>` : html`<span class="muted">none</span>`)}
      ${row('Bans by placement', html`<span class="badges">${Object.entries(status.placements).filter(([, n]) => n > 0).map(([p, n]) => html`<span class="placement">${PLACEMENT_LABELS[p] ?? p}</span> ${formatCount(n)} `)}</span>${status.placements.origin_only ? html` <span class="muted">(origin only: the edge is full or dry-run; the plugin answers 403)</span>` : ''}`)}
      ${Object.entries(status.capacity).map(([p, c]) => row(`Capacity: ${PLACEMENT_LABELS[p] ?? p}`, html`${formatCount(c.used)} of ${c.capacity === null ? 'unlimited' : formatCount(c.capacity)}`))}
      ${row('Outbox', html`${formatCount(status.outboxDepth)} waiting · ${formatCount(status.outboxDue)} due now · ${formatCount(status.inFlight)} in flight${status.outboxLagMs > 0 ? html` · oldest due waited ${formatSpan(status.outboxLagMs)}` : ''}`)}
      ${row('Last reconcile', report
        ? html`<time datetime="${report.at}" title="${formatTime(report.at)}">${relativeTime(report.at, nowMs)}</time> · saw ${formatCount(report.seen)}, repaired ${formatCount(drift)}${report.errors.length ? html` · <span class="badge badge-bad">${report.errors.length} error${report.errors.length === 1 ? '' : 's'}</span>` : ''}${status.reconcileRunning ? ' · running now' : ''}`
        : html`<span class="muted">${status.reconcileRunning ? 'running now' : 'not yet'}</span>`)}
      ${report?.blockRule ? row('WAF block rule', blockRuleCell(report.blockRule)) : ''}
      ${row('Drift repaired', html`${formatCount(status.driftRepaired)} <span class="muted">since start</span>`)}
      ${row('API requests', html`${formatCount(status.apiCalls)} <span class="muted">since start</span>`)}
      ${row('Rate-limit headroom', status.limiterHeadroom === null ? html`<span class="muted">—</span>` : html`${formatCount(status.limiterHeadroom)} requests`)}
      ${row('Held back by our limiter', status.limiterWaits ? html`${formatCount(status.limiterWaits)} calls, ${formatSpan(status.limiterWaitedMs)} in all` : html`<span class="muted">none</span>`)}
      ${row('Rate limited', status.rateLimitedForMs > 0 ? html`<span class="badge badge-busy">waiting ${formatSpan(status.rateLimitedForMs)}</span>` : 'no')}
      ${row('Last error', status.lastError ? html`<span class="detail">${status.lastError}</span>` : html`<span class="muted">none</span>`)}
    </tbody></table>
  </section>`;
}
