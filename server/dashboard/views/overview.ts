// The overview: the last 24 h of attacks, the bans in force, the forms to act on them.
import { html, query, type Renderable } from '../html.ts';
import { shieldBanners } from './shield-banner.ts';
import { attemptsChart, CHART_SIZES, SERIES_COLOURS } from '../chart.ts';
import { formatCount, formatTime, relativeTime } from '../format.ts';
import { MAX_BANS_SHOWN, type OverviewData } from '../overview-data.ts';
import type { Flash } from '../sessions.ts';
import { allowlistForm, allowlistTable, banActions, bannedOnBlogs, cloudflareBadge, formValues, ipLink, manualBanForm, protectedBadge } from './components.ts';
import { cloudflareCard, PLACEMENT_LABELS } from './cloudflare-status.ts';
import { page } from './layout.ts';

const LIVE_SECONDS = 15;

function stat(label: string, value: Renderable, note?: Renderable) {
  return html`<div class="stat"><dt>${label}</dt><dd><span class="stat-value">${value}</span>${note ? html`<span class="stat-note">${note}</span>` : ''}</dd></div>`;
}

function chartSection(d: OverviewData) {
  const { chart } = d;
  const totals = chart.series.map((s) => s.values.reduce((a, b) => a + b, 0));
  return html`<section class="card" aria-labelledby="chart-heading">
    <div class="card-head"><h2 id="chart-heading">Failed attempts per site</h2><span class="muted">last 24 h, per 30 min</span></div>
    ${CHART_SIZES.map((size) => attemptsChart(chart, size))}
    ${chart.series.length
      ? html`<ul class="legend" aria-label="Sites">${chart.series.map((s, i) => html`<li><span class="swatch swatch-${i % SERIES_COLOURS.length}" aria-hidden="true"></span>${s.label} <span class="muted">${formatCount(totals[i]!)}</span></li>`)}</ul>`
      : ''}
    ${chart.marks?.length
      ? html`<ul class="legend shield-marks" aria-label="Login shields in this period">${chart.marks.map((m) => html`<li><span class="swatch swatch-shield" aria-hidden="true"></span>${m.label}</li>`)}</ul>`
      : ''}
    <details><summary>Show the numbers as a table</summary>
      <div class="table-scroll"><table>
        <caption class="visually-hidden">Failed attempts per 30 minutes and site</caption>
        <thead><tr><th scope="col">From (UTC)</th>${chart.series.map((s) => html`<th scope="col" class="num">${s.label}</th>`)}</tr></thead>
        <tbody>${chart.bucketStartsMs.map((ms, i) => chart.series.some((s) => s.values[i])
          ? html`<tr><th scope="row">${formatTime(new Date(ms).toISOString())}</th>${chart.series.map((s) => html`<td class="num">${formatCount(s.values[i]!)}</td>`)}</tr>`
          : '')}</tbody>
      </table></div>
    </details>
  </section>`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** "13 bans on 12 IPs": one IP can be in several jails at once, so the two are never one number. */
export function bansOnIps(counts: { bans: number; ips: number }): string {
  return `${plural(counts.bans, 'ban')} on ${plural(counts.ips, 'IP')}`;
}

function bansSection(d: OverviewData, csrf: string) {
  const shown = d.bans.length;
  const filtered = d.filter.trim() !== '';
  // With a filter, "3 of 13": what matches out of everything in force.
  const count = filtered ? `${formatCount(d.matching.bans)} of ${formatCount(d.totals.active.bans)}` : formatCount(d.totals.active.bans);
  const summary = filtered
    ? html`${bansOnIps(d.matching)} ${d.matching.bans === 1 ? 'matches' : 'match'} “${d.filter}”, of ${bansOnIps(d.totals.active)} in force.`
    : d.totals.active.bans
      ? html`${bansOnIps(d.totals.active)} (an IP can be banned by several jails at once; Cloudflare holds one block per IP).`
      : '';
  return html`<section class="card" aria-labelledby="bans-heading">
    <div class="card-head">
      <h2 id="bans-heading">Active bans <span class="count" id="bans-count">${count}</span></h2>
      <form method="get" action="/dashboard" class="inline search" role="search" aria-label="Filter active bans">
        <label for="filter" class="visually-hidden">Filter active bans</label>
        <input id="filter" name="q" type="search" value="${d.filter}" placeholder="Filter by IP, jail or reason">
        <button type="submit">Filter</button>
        ${filtered ? html`<a href="/dashboard">Clear</a>` : ''}
      </form>
    </div>
    ${summary ? html`<p class="muted summary" id="bans-summary">${summary}</p>` : ''}
    ${shown
      ? html`<div class="table-scroll"><table class="bans cards" aria-describedby="bans-summary">
          <caption class="visually-hidden">Active bans, newest first</caption>
          <thead><tr><th scope="col">IP / network</th><th scope="col">Jail</th><th scope="col">Reason</th><th scope="col">Banned</th><th scope="col">Expires</th><th scope="col">Cloudflare</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${d.bans.map(({ ban, cloudflare, placement }) => html`<tr>
            <th scope="row" class="card-title">${ipLink(ban.ip_key)}</th>
            <td data-label="Jail"><span class="jail">${ban.jail}</span>${ban.ban_count > 1 ? html` <span class="muted" title="offence number">×${ban.ban_count}</span>` : ''}</td>
            <td data-label="Reason" class="reason">${ban.reason}${bannedOnBlogs(ban.site_urls)}</td>
            <td data-label="Banned"><time datetime="${ban.created_at}">${relativeTime(ban.created_at, d.nowMs)}</time></td>
            <td data-label="Expires"><time datetime="${ban.expires_at}" title="${formatTime(ban.expires_at)}">${relativeTime(ban.expires_at, d.nowMs)}</time></td>
            <td data-label="Cloudflare" class="cf-state">${cloudflareBadge(cloudflare)}${placement ? html` <span class="placement" title="where this ban is enforced">${PLACEMENT_LABELS[placement] ?? placement}</span>` : ''}</td>
            <td class="card-actions">${banActions(ban.ip_key, csrf, 'overview', String(ban.id))}</td>
          </tr>`)}</tbody>
        </table></div>
        ${d.matching.bans > shown ? html`<p class="muted">Showing the newest ${MAX_BANS_SHOWN} of ${formatCount(d.matching.bans)}; filter to find others.</p>` : ''}`
      : html`<p class="empty">${filtered ? 'No active ban matches this filter.' : 'No active bans. Quiet day.'}</p>`}
  </section>`;
}

/** The Cloudflare stat's one line: what needs a person first, then what is being retried, then what waits. */
function cloudflareNote(d: OverviewData): string {
  const { failed, retrying } = d.cloudflareTrouble;
  if (failed) return `${plural(failed, 'block')} failed: ${failed === 1 ? 'needs' : 'need'} a person`;
  if (retrying) return `${plural(retrying, 'push', 'pushes')} retrying after an error`;
  if (d.cloudflare?.mode === 'dry_run') return 'decisions recorded only';
  return d.cloudflare?.outboxDepth ? `${formatCount(d.cloudflare.outboxDepth)} waiting` : 'in sync';
}

function protectedSection(d: OverviewData) {
  return html`<section class="card" aria-labelledby="protected-heading">
    <h2 id="protected-heading">Protected addresses seen</h2>
    <p class="help">Allowlisted and never-ban addresses: their attempts are stored, not counted, and they are never banned.</p>
    ${d.protectedSeen.length
      ? html`<table class="compact"><thead><tr><th scope="col">Address</th><th scope="col">Why</th><th scope="col" class="num">Attempts</th></tr></thead>
          <tbody>${d.protectedSeen.map((p) => html`<tr><th scope="row">${ipLink(p.ip_key)}</th><td>${protectedBadge(p.protection)}</td><td class="num">${formatCount(p.attempts)}</td></tr>`)}</tbody></table>`
      : html`<p class="empty">None in 24 h.</p>`}
  </section>`;
}

function topTable(id: string, title: string, head: Renderable[], rows: Renderable[][], empty: string) {
  return html`<section class="card" aria-labelledby="${id}">
    <h2 id="${id}">${title}</h2>
    ${rows.length
      ? html`<table class="compact"><thead><tr>${head.map((h, i) => html`<th scope="col"${i ? html` class="num"` : ''}>${h}</th>`)}</tr></thead>
          <tbody>${rows.map((r) => html`<tr>${r.map((cell, i) => (i ? html`<td class="num">${cell}</td>` : html`<th scope="row">${cell}</th>`))}</tr>`)}</tbody></table>`
      : html`<p class="empty">${empty}</p>`}
  </section>`;
}

export function overviewPage(d: OverviewData, options: { csrf: string; live: boolean; flash?: Flash | null }): string {
  const { csrf } = options;
  const liveLink = options.live
    ? html`<a class="live on" href="/dashboard${query({ q: d.filter || undefined })}"><span class="dot" aria-hidden="true"></span>Live: refreshing every ${LIVE_SECONDS} s</a>`
    : html`<a class="live" href="/dashboard${query({ live: 1, q: d.filter || undefined })}"><span class="dot" aria-hidden="true"></span>Live refresh off</a>`;
  const body = html`
    <div class="page-head">
      <div><h1>Last 24 hours</h1><p class="muted">${formatTime(d.sinceIso)} – ${formatTime(new Date(d.nowMs).toISOString())} · ${formatCount(d.siteCount)} site${d.siteCount === 1 ? '' : 's'}</p></div>
      ${liveLink}
    </div>
    ${shieldBanners(d.shields, csrf)}
    <dl class="stats">
      ${stat('Failed attempts', formatCount(d.totals.attempts - d.totals.ignored), d.totals.ignored ? `plus ${formatCount(d.totals.ignored)} from protected addresses, not counted` : 'counted by the jails')}
      ${stat('Attacking IPs', formatCount(d.totals.ips), d.totals.protectedIps ? `plus ${plural(d.totals.protectedIps, 'protected address', 'protected addresses')}, not counted` : undefined)}
      ${stat('Banned IPs', formatCount(d.totals.active.ips), `${plural(d.totals.active.bans, 'active ban')}`)}
      ${stat('New bans', formatCount(d.totals.bansCreated), 'in 24 h')}
      ${stat('Cloudflare', d.cloudflare ? (d.cloudflare.mode === 'dry_run' ? 'dry-run' : 'enforcing') : 'unknown', cloudflareNote(d))}
    </dl>
    ${chartSection(d)}
    ${bansSection(d, csrf)}
    <div class="grid-2">
      <section class="card" aria-labelledby="ban-heading"><h2 id="ban-heading">Ban an IP</h2>${manualBanForm(csrf, { back: 'overview', defaultDuration: d.defaultBanDuration, values: formValues(options.flash, 'ban') })}</section>
      <section class="card" aria-labelledby="allow-heading"><h2 id="allow-heading">Allowlist</h2>${allowlistForm(csrf, { back: 'overview', values: formValues(options.flash, 'allowlist') })}${allowlistTable(d.allowlist, csrf, d.nowMs)}</section>
    </div>
    <div class="grid-3">
      ${topTable('top-ips', 'Top attacking IPs', ['IP / network', 'Attempts', 'Usernames'],
        d.topIps.map((r) => [html`${ipLink(r.ip_key)}${r.banned ? html` <span class="badge badge-bad">banned</span>` : ''}`, formatCount(r.attempts), formatCount(r.usernames)]),
        'No attempts in 24 h.')}
      ${topTable('top-networks', 'Top networks', ['Network', 'Attempts', 'IPs'],
        d.topNetworks.map((r) => [html`<span class="mono">${r.network}</span>`, formatCount(r.attempts), formatCount(r.ips)]),
        'No attempts in 24 h.')}
      ${topTable('top-users', 'Top usernames tried', ['Username', 'Attempts', 'IPs'],
        d.topUsernames.map((r) => [html`<span class="mono username">${r.username}</span>`, formatCount(r.attempts), formatCount(r.ips)]),
        'No usernames reported in 24 h.')}
    </div>
    ${protectedSection(d)}
    <div class="grid-2">
      ${cloudflareCard(d.cloudflare, d.nowMs, d.cloudflareTrouble)}
      <section class="card" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Recent activity</h2>
        ${d.recentAudit.length
          ? html`<table class="compact"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">IP</th></tr></thead>
              <tbody>${d.recentAudit.map((a) => html`<tr><td><time datetime="${a.at}" title="${formatTime(a.at)}">${relativeTime(a.at, d.nowMs)}</time></td><td>${a.actor}</td><td>${a.action}</td><td>${a.ip_key ? ipLink(a.ip_key) : ''}</td></tr>`)}</tbody></table>`
          : html`<p class="empty">Nothing yet.</p>`}
      </section>
    </div>`;
  return page({ title: 'Overview', csrf, liveSeconds: options.live ? LIVE_SECONDS : undefined, flash: options.flash, current: 'overview' }, body);
}
