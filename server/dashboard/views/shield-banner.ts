// The overview's banner for each site whose login shield is up: since when, why, and a
// button that lowers it the way `edgejail shield down` does.
import { html, type SafeHtml } from '../html.ts';
import { formatTime } from '../format.ts';
import { csrfField } from './layout.ts';
import { whyNoRule } from '../../shield/rule-specs.ts';

export interface ShieldBannerSite {
  site_id: string;
  name: string;
  since: string | null;
  until: string | null;
  reason: string | null;
  raised_by: string | null;
  zone_id: string | null;
  hostname: string | null;
  /** The login rule's row (shield_rules), null until the worker first takes it up. */
  rule: { state: string; last_error: string | null; attempts: number } | null;
}

/** Whether the challenge is really at the edge, in the owner's words. */
function ruleNote(rule: ShieldBannerSite['rule']): SafeHtml | string {
  if (!rule || rule.state === 'applying') return html` <span class="badge badge-busy">being put in place at Cloudflare</span>`;
  if (rule.state === 'active') return html` <span class="badge badge-good">in place at Cloudflare</span>`;
  if (rule.state === 'dry_run') return html` <span class="badge badge-muted">dry-run: recorded, not sent to Cloudflare</span>`;
  if (rule.state === 'failed') {
    return html` <span class="badge badge-bad">not at Cloudflare yet</span> ${rule.attempts} attempts so far, retrying; last error: ${rule.last_error ?? 'unknown'}`;
  }
  return '';
}

function edgeNote(s: ShieldBannerSite): SafeHtml {
  const missing = whyNoRule({ id: s.site_id, zoneId: s.zone_id, hostname: s.hostname });
  // Up but not at the edge: the owner must know the bots still reach PHP, and what to set.
  if (missing) return html`<p><strong>Not at Cloudflare:</strong> ${missing}. Until then only the plugin's XML-RPC refusal acts on it.</p>`;
  return html`<p class="muted">POSTs to the login form on ${s.hostname} get a Cloudflare challenge${s.until ? html` until <time datetime="${s.until}">${formatTime(s.until)}</time> unless the attack goes on` : ''}; raised by ${s.raised_by ?? 'the detector'}.${ruleNote(s.rule)}</p>`;
}

export function shieldBanners(sites: ShieldBannerSite[], csrf: string): SafeHtml | string {
  if (!sites.length) return '';
  return html`${sites.map((s) => html`<section class="card shield-banner" role="status" aria-labelledby="shield-${s.site_id}">
    <div class="card-head">
      <h2 id="shield-${s.site_id}">${s.name}: Login shield up since <time datetime="${s.since ?? ''}">${s.since ? formatTime(s.since) : '?'}</time> (${s.reason ?? 'no reason given'})</h2>
      <form method="post" action="/dashboard/shield/lower" class="inline">
        ${csrfField(csrf)}<input type="hidden" name="site" value="${s.site_id}">
        <button type="submit" class="danger" aria-label="Lower the login shield of ${s.name}">Lower</button>
      </form>
    </div>
    ${edgeNote(s)}
  </section>`)}`;
}
