// Signs in to the dashboard through app.inject() the way a browser does: fetch the
// sign-in form (its CSRF secret cookie and token field), post the token, keep the session
// and CSRF cookies, and read each page's CSRF token from its forms.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export function cookieFrom(response: LightMyRequestResponse, name: string): string | undefined {
  const header = response.headers['set-cookie'];
  const all = Array.isArray(header) ? header : header ? [header] : [];
  const line = all.find((c) => c.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

export function setCookieLine(response: LightMyRequestResponse, name: string): string | undefined {
  const header = response.headers['set-cookie'];
  const all = Array.isArray(header) ? header : header ? [header] : [];
  return all.find((c) => c.startsWith(`${name}=`));
}

export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field on the page');
  return match[1]!;
}

export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export async function openLoginForm(app: FastifyInstance) {
  const page = await app.inject({ method: 'GET', url: '/dashboard/login' });
  return { csrf: csrfOf(page.body), cookie: `edgejail_csrf=${cookieFrom(page, 'edgejail_csrf')}` };
}

export async function postLogin(app: FastifyInstance, token: string, headers: Record<string, string> = {}, remoteAddress?: string) {
  const login = await openLoginForm(app);
  const res = await app.inject({
    method: 'POST',
    url: '/dashboard/login',
    ...(remoteAddress && { remoteAddress }),
    headers: { ...FORM, cookie: login.cookie, ...headers },
    payload: form({ token, csrf: login.csrf }),
  });
  return Object.assign(res, { csrfCookie: login.cookie });
}

export interface DashboardClient {
  cookie: string;
  csrf: string;
  get(url: string): Promise<LightMyRequestResponse>;
  /** Posts a form with this session's cookie; the CSRF field is added unless `csrf` is given (null leaves it out). */
  post(url: string, fields: Record<string, string>, csrf?: string | null): Promise<LightMyRequestResponse>;
  /**
   * Posts a form the dashboard refuses: Post/Redirect/Get, so a 303 back to the page the form
   * came from, which then says why (once). Throws if the answer is anything else.
   */
  refused(url: string, fields: Record<string, string>): Promise<{ location: string; body: string; alert: string }>;
}

/** The text of the page's error message (role="alert"), or '' when there is none. */
export function alertOf(html: string): string {
  const match = /role="alert"[^>]*>([\s\S]*?)<\/div>/.exec(html);
  if (!match) return '';
  const entities: Record<string, string> = { '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&#96;': '`', '&amp;': '&' };
  return match[1]!.replace(/<[^>]+>/g, '').replace(/&(quot|#39|lt|gt|#96|amp);/g, (e) => entities[e]!).replace(/\s+/g, ' ').trim();
}

export async function signIn(app: FastifyInstance, token: string): Promise<DashboardClient> {
  const res = await postLogin(app, token);
  if (res.statusCode !== 303) throw new Error(`sign-in failed with ${res.statusCode}: ${res.body}`);
  const cookie = `edgejail_session=${cookieFrom(res, 'edgejail_session')}; ${res.csrfCookie}`;
  const overview = await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie } });
  const client: DashboardClient = {
    cookie,
    csrf: csrfOf(overview.body),
    get: (url) => app.inject({ method: 'GET', url, headers: { cookie } }),
    post: (url, fields, csrf) =>
      app.inject({
        method: 'POST',
        url,
        headers: { ...FORM, cookie },
        payload: form(csrf === null ? fields : { csrf: csrf ?? client.csrf, ...fields }),
      }),
    async refused(url, fields) {
      const res = await client.post(url, fields);
      if (res.statusCode !== 303) throw new Error(`${url} answered ${res.statusCode}, not a 303 back to the form: ${res.body.slice(0, 500)}`);
      const location = String(res.headers.location);
      const page = await client.get(location);
      if (page.statusCode !== 200) throw new Error(`${location} answered ${page.statusCode} after a refused form`);
      return { location, body: page.body, alert: alertOf(page.body) };
    },
  };
  return client;
}
