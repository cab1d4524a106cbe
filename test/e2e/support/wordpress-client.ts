// What a bot and a real user do to a WordPress site, over plain HTTP, from a chosen client
// address (the X-Test-Client-IP header the edge and the origin's nginx read), and who
// answered: the edge, the plugin at the origin, or WordPress itself.
import { CLIENT_IP_HEADER, EDGE_BLOCK_HEADER } from '../edge-proxy.ts';

export type Outcome =
  | 'edge_blocked' // 403 from the edge: the request never reached the origin
  | 'edge_challenged' // 403 with cf-mitigated: challenge from the edge (a login shield rule)
  | 'origin_blocked' // 403 from the plugin's origin fallback
  | 'login_failed' // WordPress showed the login form again with an error
  | 'logged_in' // 302 with a logged-in cookie
  | 'page' // a page (the login form on GET)
  | 'xmlrpc'; // an XML-RPC answer

export interface Answer {
  outcome: Outcome;
  status: number;
  body: string;
}

const ORIGIN_DENY_TEXT = 'too many failed attempts from your address';

async function classify(res: Response, expectPage: 'login' | 'xmlrpc' | 'page'): Promise<Answer> {
  const body = await res.text();
  const status = res.status;
  if (status === 403 && res.headers.get('cf-mitigated') === 'challenge') return { outcome: 'edge_challenged', status, body };
  if (status === 403 && res.headers.get(EDGE_BLOCK_HEADER) === 'blocked') return { outcome: 'edge_blocked', status, body };
  if (status === 403 && body.includes(ORIGIN_DENY_TEXT)) return { outcome: 'origin_blocked', status, body };
  if (expectPage === 'login' && status === 302 && res.headers.getSetCookie().some((c) => c.startsWith('wordpress_logged_in_'))) {
    return { outcome: 'logged_in', status, body };
  }
  if (expectPage === 'login' && status === 200 && body.includes('id="login_error"')) return { outcome: 'login_failed', status, body };
  if (expectPage === 'xmlrpc' && status === 200 && body.includes('<methodResponse>')) return { outcome: 'xmlrpc', status, body };
  if (expectPage === 'page' && status === 200) return { outcome: 'page', status, body };
  throw new Error(`unexpected answer ${status} (${expectPage}): ${body.slice(0, 400)}`);
}

const headersFor = (ip: string, extra: Record<string, string> = {}) => ({ [CLIENT_IP_HEADER]: ip, ...extra });

/** POST wp-login.php as the login form does. */
export async function postLogin(base: string, ip: string, username: string, password: string, extraCookie?: string, signal?: AbortSignal): Promise<Answer> {
  const form = new URLSearchParams({ log: username, pwd: password, 'wp-submit': 'Log In', redirect_to: `${base}/wp-admin/`, testcookie: '1' });
  const res = await fetch(`${base}/wp-login.php`, {
    method: 'POST',
    redirect: 'manual',
    body: form,
    signal,
    headers: headersFor(ip, { 'content-type': 'application/x-www-form-urlencoded', cookie: `wordpress_test_cookie=WP%20Cookie%20check${extraCookie ? `; ${extraCookie}` : ''}` }),
  });
  return classify(res, 'login');
}

/** GET wp-login.php: the login page. */
export async function getLoginPage(base: string, ip: string): Promise<Answer> {
  const res = await fetch(`${base}/wp-login.php`, { redirect: 'manual', headers: headersFor(ip) });
  return classify(res, 'page');
}

const xmlString = (s: string) => `<value><string>${s.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</string></value>`;

/** One system.multicall carrying one wp.getUsersBlogs per password: the amplified XML-RPC brute force. */
export function multicallBody(username: string, passwords: string[]): string {
  const calls = passwords
    .map(
      (password) =>
        `<value><struct><member><name>methodName</name><value><string>wp.getUsersBlogs</string></value></member>` +
        `<member><name>params</name><value><array><data>${xmlString(username)}${xmlString(password)}</data></array></value></member></struct></value>`,
    )
    .join('');
  return `<?xml version="1.0"?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data>${calls}</data></array></value></param></params></methodCall>`;
}

export async function postMulticall(base: string, ip: string, username: string, passwords: string[]): Promise<Answer> {
  const res = await fetch(`${base}/xmlrpc.php`, {
    method: 'POST',
    redirect: 'manual',
    body: multicallBody(username, passwords),
    headers: headersFor(ip, { 'content-type': 'text/xml' }),
  });
  return classify(res, 'xmlrpc');
}
