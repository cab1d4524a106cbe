// The page frame every dashboard page shares: head, top bar, skip link, messages.
import { html, type Renderable, type SafeHtml } from '../html.ts';
import type { Flash } from '../sessions.ts';

export const ASSET_PATH = '/dashboard/assets';

export interface PageOptions {
  title: string;
  /** Present once signed in: the sign-out form needs the session's CSRF token. */
  csrf?: string;
  /** Seconds between automatic reloads; the live.js script does them, the page works without. */
  liveSeconds?: number;
  flash?: Flash | null;
  current?: 'overview' | 'ip' | 'login';
}

export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

export function flashMessage(flash: Flash | null | undefined): Renderable {
  if (!flash) return '';
  return flash.kind === 'error'
    ? html`<div class="flash flash-error" role="alert"><strong>Not done:</strong> ${flash.text}</div>`
    : html`<div class="flash flash-ok" role="status">${flash.text}</div>`;
}

export function page(options: PageOptions, body: Renderable): string {
  // Any address or prefix, banned or not, attacker or not: the IP page has its whole story.
  const search = options.csrf
    ? html`<form method="get" action="/dashboard/ip" class="ip-search" role="search" aria-label="Look up an IP">
        <label for="ip-search" class="visually-hidden">Look up an IP address or prefix</label>
        <input id="ip-search" name="ip" type="search" required maxlength="100" autocomplete="off" spellcheck="false" placeholder="Look up an IP or prefix">
        <button type="submit">Look up</button>
      </form>`
    : '';
  const nav = options.csrf
    ? html`<nav aria-label="Main">
        <a href="/dashboard"${options.current === 'overview' ? html` aria-current="page"` : ''}>Overview</a>
        <a href="/docs">API docs</a>
        <form method="post" action="/dashboard/logout" class="inline">${csrfField(options.csrf)}<button type="submit" class="link-button">Sign out</button></form>
      </nav>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · EdgeJail</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSET_PATH}/style.css">
<script src="${ASSET_PATH}/live.js" defer></script>
</head>
<body${options.liveSeconds ? html` data-live="${options.liveSeconds}"` : ''}>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  <div class="wrap topbar-inner">
    <a class="brand" href="/dashboard"><svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22"><path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3Z" fill="#38bdf8"/><path d="M8 8v8M12 8v8M16 8v8" stroke="#0f172a" stroke-width="2"/></svg>EdgeJail</a>
    ${search}
    ${nav}
  </div>
</header>
<main id="main" class="wrap" tabindex="-1">
${flashMessage(options.flash)}
${body}
</main>
<footer class="wrap footer">EdgeJail dashboard · times in UTC</footer>
</body>
</html>
`.value;
}
