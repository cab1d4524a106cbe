// A page that only says what went wrong and where to go next (401, 403, 404, 429, 500).
import { html } from '../html.ts';
import { page } from './layout.ts';

export function messagePage(options: { title: string; text: string; csrf?: string; link?: { href: string; text: string } }): string {
  const link = options.link ?? { href: '/dashboard', text: 'Back to the dashboard' };
  return page(
    { title: options.title, csrf: options.csrf },
    html`<section class="card narrow" aria-labelledby="msg-title">
      <h1 id="msg-title">${options.title}</h1>
      <p>${options.text}</p>
      <p><a href="${link.href}">${link.text}</a></p>
    </section>`,
  );
}
