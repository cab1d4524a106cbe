// Pieces several pages share: the Cloudflare badge, ban action forms, the ban/allowlist forms.
import { html, query, type SafeHtml } from '../html.ts';
import { CLOUDFLARE_STATE_LABELS, formatTime, relativeTime } from '../format.ts';
import type { CloudflareShown } from '../cloudflare-state.ts';
import type { Protection } from '../protection.ts';
import type { Flash } from '../sessions.ts';
import { csrfField } from './layout.ts';

export const ipLink = (ipKey: string) => html`<a class="mono" href="/dashboard/ip${query({ key: ipKey })}">${ipKey}</a>`;

/** The blogs of a network a ban's trigger events came from (bans.site_urls), after a space; '' when unknown. */
export function bannedOnBlogs(siteUrls: string | null): SafeHtml | '' {
  let urls: unknown;
  try {
    urls = siteUrls ? JSON.parse(siteUrls) : null;
  } catch {
    return '';
  }
  if (!Array.isArray(urls) || !urls.length) return '';
  return html` <span class="blogs muted">on ${urls.map((u, i) => html`${i ? ', ' : ''}<span class="mono blog">${String(u)}</span>`)}</span>`;
}

/** A block state's badge by its name alone (the Cloudflare card's counts). */
export function stateBadge(state: string | null): SafeHtml {
  if (!state) return html`<span class="badge badge-muted">not sent</span>`;
  const known = CLOUDFLARE_STATE_LABELS[state];
  return html`<span class="badge badge-${known?.tone ?? 'muted'}">${known?.text ?? state}</span>`;
}

/** One ip_key's block: retries read as retries, and a failure nobody retries says it needs a person. */
export function cloudflareBadge(shown: CloudflareShown): SafeHtml {
  const badge = html`<span class="badge badge-${shown.tone}"${shown.error ? html` title="${shown.error}"` : ''}>${shown.text}</span>`;
  if (!shown.needsPerson) return badge;
  return html`${badge} <span class="needs-person">not retried: needs a person${shown.error ? html` (<span class="detail">${shown.error}</span>)` : ''}</span>`;
}

export const protectedBadge = (protection: Protection) => html`<span class="badge badge-protected" title="${protection.why}">${protection.label}</span>`;

export const EXTEND_CHOICES = [
  { value: '1h', text: '1 hour' },
  { value: '1d', text: '1 day' },
  { value: '1w', text: '1 week' },
  { value: '30d', text: '30 days' },
];

/** Unban and extend, for one row of the active bans table or the per-IP page. */
export function banActions(ipKey: string, csrf: string, back: 'overview' | 'ip', idSuffix: string): SafeHtml {
  const selectId = `extend-${idSuffix}`;
  return html`<div class="actions">
    <form method="post" action="/dashboard/bans/unban" class="inline">
      ${csrfField(csrf)}<input type="hidden" name="ip_key" value="${ipKey}"><input type="hidden" name="back" value="${back}">
      <button type="submit" class="danger" aria-label="Unban ${ipKey}">Unban</button>
    </form>
    <form method="post" action="/dashboard/bans/extend" class="inline extend">
      ${csrfField(csrf)}<input type="hidden" name="ip_key" value="${ipKey}"><input type="hidden" name="back" value="${back}">
      <label class="visually-hidden" for="${selectId}">Extend the ban on ${ipKey} by</label>
      <select id="${selectId}" name="by">${EXTEND_CHOICES.map((c) => html`<option value="${c.value}">+${c.text}</option>`)}</select>
      <button type="submit" aria-label="Extend the ban on ${ipKey}">Extend</button>
    </form>
  </div>`;
}

/** What a refused form sent, put back after the redirect so nobody types it twice. */
export type FormValues = Record<string, string>;

export const formValues = (flash: Flash | null | undefined, name: 'ban' | 'allowlist'): FormValues | undefined =>
  flash?.form?.name === name ? flash.form.values : undefined;

export function manualBanForm(csrf: string, options: { ip?: string; back: 'overview' | 'ip'; defaultDuration: string; values?: FormValues }): SafeHtml {
  const v = options.values ?? {};
  return html`<form method="post" action="/dashboard/bans" class="stack">
    ${csrfField(csrf)}<input type="hidden" name="back" value="${options.back}">
    <label for="ban-ip">IP address</label>
    <input id="ban-ip" name="ip" required inputmode="text" autocomplete="off" spellcheck="false" placeholder="203.0.113.7" value="${v.ip ?? options.ip ?? ''}">
    <div class="row">
      <div class="grow">
        <label for="ban-duration">Duration</label>
        <input id="ban-duration" name="duration" value="${v.duration ?? options.defaultDuration}" required aria-describedby="ban-duration-help">
      </div>
      <div class="grow2">
        <label for="ban-reason">Reason</label>
        <input id="ban-reason" name="reason" value="${v.reason ?? 'manual ban'}" maxlength="500">
      </div>
    </div>
    <p id="ban-duration-help" class="help">Seconds, or 90s, 10m, 1h, 7d, 2w (default ${options.defaultDuration}: <code>manual_ban_duration</code> in the config). Banning an IP that already has a manual ban extends it.</p>
    <button type="submit" class="danger">Ban</button>
  </form>`;
}

export function allowlistForm(csrf: string, options: { cidr?: string; back: 'overview' | 'ip'; values?: FormValues }): SafeHtml {
  const v = options.values ?? {};
  return html`<form method="post" action="/dashboard/allowlist" class="stack">
    ${csrfField(csrf)}<input type="hidden" name="back" value="${options.back}">
    <label for="allow-cidr">IP address or range</label>
    <input id="allow-cidr" name="cidr" required autocomplete="off" spellcheck="false" placeholder="192.0.2.0/24" value="${v.cidr ?? options.cidr ?? ''}">
    <label for="allow-note">Note</label>
    <input id="allow-note" name="note" maxlength="500" placeholder="office, monitoring, …" value="${v.note ?? ''}">
    <p class="help">Every ban on an address it covers is lifted, at Cloudflare too.</p>
    <button type="submit">Allowlist</button>
  </form>`;
}

export interface AllowlistEntries {
  config: readonly string[];
  runtime: ReadonlyArray<{ cidr: string; note: string | null; created_at: string; created_by: string }>;
}

/** The allowlist in force: runtime entries with a remove button, config entries read-only. */
export function allowlistTable(entries: AllowlistEntries, csrf: string, nowMs: number): SafeHtml {
  if (!entries.config.length && !entries.runtime.length) return html`<p class="empty">Nothing allowlisted yet.</p>`;
  return html`<div class="table-scroll"><table class="compact" aria-label="Allowlisted addresses and ranges">
    <thead><tr><th scope="col">Address or range</th><th scope="col">Note</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${entries.runtime.map((e) => html`<tr>
      <th scope="row" class="mono">${e.cidr}</th><td>${e.note ?? ''}</td>
      <td><time datetime="${e.created_at}" title="${formatTime(e.created_at)}">${relativeTime(e.created_at, nowMs)}</time> <span class="muted">${e.created_by}</span></td>
      <td><form method="post" action="/dashboard/allowlist/remove" class="inline">
        ${csrfField(csrf)}<input type="hidden" name="cidr" value="${e.cidr}">
        <button type="submit" class="danger" aria-label="Remove ${e.cidr} from the allowlist">Remove</button>
      </form></td>
    </tr>`)}${entries.config.map((cidr) => html`<tr>
      <th scope="row" class="mono">${cidr}</th><td class="muted">config file</td><td></td><td class="muted">edit the config to remove</td>
    </tr>`)}</tbody>
  </table></div>`;
}
