// One IP's (or IPv6 prefix's) whole story: its bans, every event, the audit trail and
// every Cloudflare call made about it.
import { html, type Renderable } from '../html.ts';
import { formatCount, formatTime, relativeTime } from '../format.ts';
import type { BanRow, EventRow } from '../../store/store.ts';
import type { CloudflareActionRow } from '../../store/enforcement.ts';
import type { Flash } from '../sessions.ts';
import type { CloudflareShown } from '../cloudflare-state.ts';
import type { Protection } from '../protection.ts';
import { allowlistForm, banActions, bannedOnBlogs, cloudflareBadge, formValues, ipLink, manualBanForm, protectedBadge } from './components.ts';
import { page } from './layout.ts';

export interface IpPageData {
  nowMs: number;
  ipKey: string;
  /** What was typed into the search, when it is not the key itself (an address counted as its /64). */
  searched: string | null;
  /** An address the ban form can take (the key itself, or its network address for a prefix). */
  banAddress: string;
  currentBan: { jail: string; expiresAtMs: number } | null;
  /** Null when Cloudflare holds nothing for the key and nothing is on the way. */
  cloudflare: CloudflareShown | null;
  /** Set for an allowlisted or never-ban address: it gets an explanation instead of a Ban form. */
  protection: Protection | null;
  defaultBanDuration: string;
  /** For a network: the keys inside it with attempts in the last 24 h (null for a single key). */
  inside: Array<{ ip_key: string; attempts: number; last_seen: string; counted: boolean; banned: boolean }> | null;
  events: EventRow[];
  /** How many events are stored for the key, about; `events` holds the newest of them. */
  eventsStored: number;
  bans: BanRow[];
  audit: Array<Record<string, unknown>>;
  cloudflareActions: CloudflareActionRow[];
  siteNames: Map<string, string>;
}

const when = (iso: string, nowMs: number) => html`<time datetime="${iso}" title="${relativeTime(iso, nowMs)}">${formatTime(iso)}</time>`;

function section(id: string, title: string, count: number, table: Renderable, empty: string, limit?: number, stored = count) {
  const partial = (limit !== undefined && count >= limit) || count < stored;
  return html`<section class="card" aria-labelledby="${id}">
    <h2 id="${id}">${title} <span class="count">${formatCount(count)}</span></h2>
    ${count ? html`<div class="table-scroll">${table}</div>` : html`<p class="empty">${empty}</p>`}
    ${partial ? html`<p class="muted">The latest ${formatCount(count)}${count < stored ? html` of about ${formatCount(stored)} stored` : ''}; the database has them all.</p>` : ''}
  </section>`;
}

/** How many rows of each kind the page shows at most. */
export const IP_PAGE_LIMITS = { events: 500, bans: 200, audit: 500, cloudflareActions: 200, keysInNetwork: 100 } as const;

const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** An audit entry's JSON detail as "key value" pairs; long id lists shrink to a count. */
export function auditDetail(detail: unknown): Renderable {
  if (typeof detail !== 'string' || !detail) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    return detail;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return detail;
  const pairs = Object.entries(parsed as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => {
      const value = Array.isArray(v) ? (v.length > 2 ? `${v.length} items` : v.join(', ')) : typeof v === 'object' ? JSON.stringify(v).slice(0, 120) : String(v);
      return html`<li><span class="k">${k.replace(/_/g, ' ')}</span> ${/_at$|^(from|to)$/.test(k) ? formatTime(value) : value}</li>`;
    });
  return html`<ul class="pairs">${pairs}</ul>`;
}

/** Why this address is never banned, and where that comes from: no Ban form that would only fail. */
function protectionCard(p: Protection) {
  return html`<section class="card" aria-labelledby="protected-heading">
    <h2 id="protected-heading">Why EdgeJail never bans this address</h2>
    <p>${p.why}</p>
    ${p.entries.length
      ? html`<ul class="plain">${p.entries.map((e) => html`<li>Allowlist entry <span class="mono">${e.cidr}</span>: ${e.source === 'config' ? 'in the config file (edit it to remove)' : html`added at runtime${e.note ? html` (“${e.note}”)` : ''}; remove it from the allowlist on the <a href="/dashboard">overview</a>`}</li>`)}</ul>`
      : ''}
  </section>`;
}

function insideSection(d: IpPageData) {
  const rows = d.inside!;
  return html`<section class="card" aria-labelledby="inside-heading">
    <h2 id="inside-heading">Addresses in ${d.ipKey}, last 24 h <span class="count">${formatCount(rows.length)}</span></h2>
    ${rows.length
      ? html`<div class="table-scroll"><table class="compact">
          <thead><tr><th scope="col">Address</th><th scope="col" class="num">Attempts</th><th scope="col">Last seen</th></tr></thead>
          <tbody>${rows.map((k) => html`<tr><th scope="row">${ipLink(k.ip_key)}${k.banned ? html` <span class="badge badge-bad">banned</span>` : ''}${k.counted ? '' : html` <span class="badge badge-protected">protected</span>`}</th>
            <td class="num">${formatCount(k.attempts)}</td><td>${when(k.last_seen, d.nowMs)}</td></tr>`)}</tbody>
        </table></div>
        ${rows.length >= IP_PAGE_LIMITS.keysInNetwork ? html`<p class="muted">The ${formatCount(IP_PAGE_LIMITS.keysInNetwork)} with the most attempts.</p>` : ''}`
      : html`<p class="empty">No attempts from inside this network in 24 h.</p>`}
  </section>`;
}

export function ipPage(d: IpPageData, options: { csrf: string; flash?: Flash | null }): string {
  const { csrf } = options;
  const status = d.currentBan
    ? html`<p class="status status-banned"><strong>Banned</strong> by <span class="jail">${d.currentBan.jail}</span> until ${formatTime(new Date(d.currentBan.expiresAtMs).toISOString())} (${relativeTime(new Date(d.currentBan.expiresAtMs).toISOString(), d.nowMs)}) · Cloudflare: ${d.cloudflare ? cloudflareBadge(d.cloudflare) : html`<span class="badge badge-muted">not sent</span>`}</p>`
    : d.protection
      ? html`<p class="status status-protected"><strong>Protected</strong> ${protectedBadge(d.protection)}</p>`
      : html`<p class="status"><strong>Not banned.</strong>${d.cloudflare ? html` Cloudflare: ${cloudflareBadge(d.cloudflare)}` : ''}</p>`;
  const searchedNote = d.searched
    ? html`<p class="muted">You looked up <span class="mono">${d.searched}</span>: EdgeJail counts and bans it as <span class="mono">${d.ipKey}</span>.</p>`
    : '';

  const events = html`<table>
    <caption class="visually-hidden">Events from ${d.ipKey}, newest first</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Site</th><th scope="col">Type</th><th scope="col">Username</th><th scope="col">User agent</th><th scope="col">Path</th><th scope="col" class="num">Weight</th><th scope="col">Counted</th></tr></thead>
    <tbody>${d.events.map((e) => html`<tr>
      <td>${when(e.occurred_at, d.nowMs)}</td>
      <td>${d.siteNames.get(e.site_id) ?? e.site_id}${e.site_url ? html` <span class="mono blog muted">${e.site_url}</span>` : ''}</td>
      <td>${e.type}</td>
      <td class="mono username">${e.username ?? ''}</td>
      <td class="ua" title="${e.user_agent ?? ''}">${e.user_agent ?? ''}</td>
      <td class="mono path">${e.path ?? ''}</td>
      <td class="num">${formatCount(e.weight)}</td>
      <td>${e.ignored_reason ? html`<span class="badge badge-muted">ignored: ${e.ignored_reason}</span>` : 'yes'}${d.ipKey !== e.ip ? html` <span class="muted mono">${e.ip}</span>` : ''}</td>
    </tr>`)}</tbody></table>`;

  const bans = html`<table class="cards">
    <caption class="visually-hidden">Bans of ${d.ipKey}</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Jail</th><th scope="col">Reason</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col">Lifted by</th></tr></thead>
    <tbody>${d.bans.map((b) => html`<tr>
      <td class="num card-title">#${b.id}</td><td data-label="Jail"><span class="jail">${b.jail}</span>${b.ban_count > 1 ? html` <span class="muted">×${b.ban_count}</span>` : ''}</td><td data-label="Reason" class="reason">${b.reason}${bannedOnBlogs(b.site_urls)}</td>
      <td data-label="Created">${when(b.created_at, d.nowMs)}</td><td data-label="Expires">${when(b.expires_at, d.nowMs)}</td>
      <td data-label="State">${b.state === 'active' ? html`<span class="badge badge-bad">active</span>` : html`<span class="badge badge-muted">lifted</span>`}</td>
      <td data-label="Lifted by">${b.lifted_by ?? ''}${b.lifted_at ? html` <span class="muted">${formatTime(b.lifted_at)}</span>` : ''}</td>
    </tr>`)}</tbody></table>`;

  const audit = html`<table>
    <caption class="visually-hidden">Audit log for ${d.ipKey}</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Detail</th></tr></thead>
    <tbody>${d.audit.map((a) => html`<tr><td>${when(text(a.at), d.nowMs)}</td><td>${text(a.actor)}</td><td>${text(a.action)}</td><td class="detail">${auditDetail(a.detail)}</td></tr>`)}</tbody></table>`;

  const calls = html`<table>
    <caption class="visually-hidden">Cloudflare API calls about ${d.ipKey}</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Operation</th><th scope="col">Target</th><th scope="col">Outcome</th><th scope="col" class="num">HTTP</th><th scope="col">Error</th><th scope="col" class="num">ms</th></tr></thead>
    <tbody>${d.cloudflareActions.map((c) => html`<tr>
      <td>${when(c.at, d.nowMs)}</td><td>${c.operation}</td><td class="mono detail">${c.target ?? ''}</td>
      <td><span class="badge badge-${c.outcome === 'ok' ? 'good' : c.outcome === 'error' ? 'bad' : 'info'}">${c.outcome.replace('_', '-')}</span></td>
      <td class="num">${c.http_status ?? ''}</td><td class="detail">${c.error ?? ''}${c.cf_error_codes ? html` <span class="muted">${c.cf_error_codes}</span>` : ''}</td><td class="num">${c.duration_ms ?? ''}</td>
    </tr>`)}</tbody></table>`;

  const body = html`
    <p class="breadcrumb"><a href="/dashboard">Overview</a> › IP</p>
    <div class="page-head"><div><h1 class="mono">${d.ipKey}</h1>${status}</div></div>
    ${searchedNote}
    ${d.protection ? protectionCard(d.protection) : html`<div class="grid-2">
      <section class="card" aria-labelledby="act-heading">
        <h2 id="act-heading">${d.currentBan ? 'Lift or extend' : 'Ban'}</h2>
        ${d.currentBan
          ? html`<p>Blocked until <strong>${formatTime(new Date(d.currentBan.expiresAtMs).toISOString())}</strong>. Unban lifts every ban on ${d.ipKey}; extend adds a manual ban reaching further.</p>${banActions(d.ipKey, csrf, 'ip', 'ip')}`
          : manualBanForm(csrf, { ip: d.banAddress, back: 'ip', defaultDuration: d.defaultBanDuration, values: formValues(options.flash, 'ban') })}
      </section>
      <section class="card" aria-labelledby="allow-heading"><h2 id="allow-heading">Allowlist</h2>${allowlistForm(csrf, { cidr: d.ipKey, back: 'ip', values: formValues(options.flash, 'allowlist') })}</section>
    </div>`}
    ${d.inside ? insideSection(d) : ''}
    ${section('bans-heading', 'Bans', d.bans.length, bans, 'Never banned.', IP_PAGE_LIMITS.bans)}
    ${section('events-heading', 'Events', d.events.length, events, 'No events stored for this address (they are purged after the retention period).', IP_PAGE_LIMITS.events, d.eventsStored)}
    ${section('audit-heading', 'Audit log', d.audit.length, audit, 'No audit entries.', IP_PAGE_LIMITS.audit)}
    ${section('cf-heading', 'Cloudflare calls', d.cloudflareActions.length, calls, 'No Cloudflare calls about this address.', IP_PAGE_LIMITS.cloudflareActions)}`;
  return page({ title: d.ipKey, csrf, flash: options.flash, current: 'ip' }, body);
}
