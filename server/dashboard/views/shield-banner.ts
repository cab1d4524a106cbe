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
}

function edgeNote(s: ShieldBannerSite): SafeHtml {
  const missing = whyNoRule({ id: s.site_id, zoneId: s.zone_id, hostname: s.hostname });
  // Up but not at the edge: the owner must know the bots still reach PHP, and what to set.
  if (missing) return html`<p><strong>Not at Cloudflare:</strong> ${missing}. Until then only the plugin's XML-RPC refusal acts on it.</p>`;
  return html`<p class="muted">POSTs to the login form on ${s.hostname} get a Cloudflare challenge${s.until ? html` until <time datetime="${s.until}">${formatTime(s.until)}</time> unless the attack goes on` : ''}; raised by ${s.raised_by ?? 'the detector'}.</p>`;
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
