// The sign-in page: one field, the admin token.
import { html } from '../html.ts';
import { csrfField, page } from './layout.ts';

export function loginPage(options: { csrf: string; error?: string; loggedOut?: boolean }): string {
  return page(
    { title: 'Sign in', current: 'login' },
    html`<section class="login card" aria-labelledby="login-title">
      <h1 id="login-title">Sign in to EdgeJail</h1>
      <p class="muted">Use the admin token: <code>EDGEJAIL_ADMIN_TOKEN</code>, or the file <code>admin-token</code> in the data directory.</p>
      ${options.error ? html`<div class="flash flash-error" role="alert" id="login-error">${options.error}</div>` : ''}
      ${options.loggedOut ? html`<div class="flash flash-ok" role="status">You are signed out.</div>` : ''}
      <form method="post" action="/dashboard/login" class="stack">
        ${csrfField(options.csrf)}
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus spellcheck="false"${options.error ? html` aria-invalid="true" aria-describedby="login-error"` : ''}>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </section>`,
  );
}
