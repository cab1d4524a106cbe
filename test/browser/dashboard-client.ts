// Signs in to the dashboard through app.inject() the way a browser does: fetch the
// sign-in form (its CSRF cookie and field), post the token, keep the session cookie,
// and read each page's CSRF token from its forms.
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
  return { csrf: csrfOf(page.body), cookie: `edgejail_login_csrf=${cookieFrom(page, 'edgejail_login_csrf')}` };
}

export async function postLogin(app: FastifyInstance, token: string, headers: Record<string, string> = {}, remoteAddress?: string) {
  const login = await openLoginForm(app);
  return app.inject({
    method: 'POST',
    url: '/dashboard/login',
    ...(remoteAddress && { remoteAddress }),
    headers: { ...FORM, cookie: login.cookie, ...headers },
    payload: form({ token, csrf: login.csrf }),
  });
}

export interface DashboardClient {
  cookie: string;
  csrf: string;
  get(url: string): Promise<LightMyRequestResponse>;
  /** Posts a form with this session's cookie; the CSRF field is added unless `csrf` is given (null leaves it out). */
  post(url: string, fields: Record<string, string>, csrf?: string | null): Promise<LightMyRequestResponse>;
}

export async function signIn(app: FastifyInstance, token: string): Promise<DashboardClient> {
  const res = await postLogin(app, token);
  if (res.statusCode !== 303) throw new Error(`sign-in failed with ${res.statusCode}: ${res.body}`);
  const cookie = `edgejail_session=${cookieFrom(res, 'edgejail_session')}`;
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
  };
  return client;
}
