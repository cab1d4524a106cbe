// The dashboard over app.inject(): sign-in, sessions, CSRF, escaping of attacker-controlled
// text, and every action landing in the audit log as admin:dashboard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, addSite, attempt, postEvents, startService } from '../support/service.ts';
import { cookieFrom, form, openLoginForm, postLogin, setCookieLine, signIn, type DashboardClient } from '../browser/dashboard-client.ts';

let clock = Date.now();
let svc: Awaited<ReturnType<typeof startService>>;
let admin: DashboardClient;

const XSS_USERNAME = '<script>alert("pwned")</script>';
const XSS_USER_AGENT = '"><img src=x onerror=alert(1)>';
const XSS_PATH = "/wp-login.php?x='><svg/onload=alert(2)>";

before(async () => {
  svc = await startService({}, { now: () => clock });
  admin = await signIn(svc.app, ADMIN_TOKEN);
});
after(async () => svc.close());

const auditRows = (ipKey: string) =>
  svc.app.core.db.prepare('SELECT actor, action FROM audit_log WHERE ip_key = ? ORDER BY id').all(ipKey) as Array<{ actor: string; action: string }>;

async function banByEvents(ip: string, ipKey = ip) {
  const res = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, () => attempt(ip)));
  assert.equal(res.json().decisions[0]?.ip_key, ipKey, res.body);
}

test('without a session, pages redirect to the sign-in form and actions are refused with 401', async () => {
  await banByEvents('203.0.113.10');
  const overview = await svc.app.inject({ method: 'GET', url: '/dashboard' });
  assert.equal(overview.statusCode, 303);
  assert.equal(overview.headers.location, '/dashboard/login');
  const ipPage = await svc.app.inject({ method: 'GET', url: '/dashboard/ip?key=203.0.113.10' });
  assert.equal(ipPage.statusCode, 303);

  const unban = await svc.app.inject({
    method: 'POST',
    url: '/dashboard/bans/unban',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'edgejail_session=made-up' },
    payload: form({ ip_key: '203.0.113.10', csrf: 'whatever' }),
  });
  assert.equal(unban.statusCode, 401);
  assert.match(unban.body, /sign in again/i);
  assert.ok(svc.app.core.bans.currentBan('203.0.113.10'), 'the ban must still be in force');
});

test('a wrong token is refused, redirecting back to the form (no re-post on reload) with no session; the token typed is not echoed', async () => {
  const res = await postLogin(svc.app, 'wrong-token-but-long-enough-000000');
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/dashboard/login?refused=token');
  assert.equal(cookieFrom(res, 'edgejail_session'), undefined);
  const page = await svc.app.inject({ method: 'GET', url: res.headers.location });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /role="alert" id="login-error">That is not the admin token\./);
  assert.doesNotMatch(page.body, /wrong-token-but-long-enough/);
  assert.doesNotMatch((await svc.app.inject({ method: 'GET', url: '/dashboard/login' })).body, /That is not the admin token/);
});

test('the sign-in form needs its CSRF secret cookie', async () => {
  const { csrf } = await openLoginForm(svc.app);
  const res = await svc.app.inject({
    method: 'POST',
    url: '/dashboard/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token: ADMIN_TOKEN, csrf }),
  });
  assert.equal(res.statusCode, 403);
  assert.equal(cookieFrom(res, 'edgejail_session'), undefined);
});

test('signing in sets an HttpOnly, SameSite=Strict session cookie, Secure behind https', async () => {
  const plain = await postLogin(svc.app, ADMIN_TOKEN);
  assert.equal(plain.statusCode, 303);
  assert.equal(plain.headers.location, '/dashboard');
  const line = setCookieLine(plain, 'edgejail_session')!;
  assert.match(line, /; HttpOnly/);
  assert.match(line, /; SameSite=Strict/);
  assert.match(line, /; Path=\/dashboard/);
  assert.doesNotMatch(line, /Secure/);

  const https = await postLogin(svc.app, ADMIN_TOKEN, { 'x-forwarded-proto': 'https' });
  assert.match(setCookieLine(https, 'edgejail_session')!, /; Secure/);
});

test('pages carry a strict CSP, no inline script, and never the admin token or a site secret', async () => {
  const page = await admin.get('/dashboard');
  assert.equal(page.statusCode, 200);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers['x-frame-options'], 'DENY', 'no framing in browsers that ignore frame-ancestors');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)/);
  assert.doesNotMatch(page.body, /style="/);
  for (const url of ['/dashboard', '/dashboard/ip?key=203.0.113.10', '/dashboard/login']) {
    const body = (await admin.get(url)).body;
    assert.ok(!body.includes(ADMIN_TOKEN), `${url} shows the admin token`);
    assert.ok(!body.includes(svc.site.secret), `${url} shows a site secret`);
  }
});

test('attacker-controlled usernames, user agents and paths are shown escaped', async () => {
  const evilSite = addSite(svc.app, '<b onmouseover=alert(3)>site</b>');
  await postEvents(svc.app, evilSite, Array.from({ length: 5 }, () => attempt('203.0.113.20', { username: XSS_USERNAME, user_agent: XSS_USER_AGENT, path: XSS_PATH })));

  const overview = (await admin.get('/dashboard')).body;
  const ipPage = (await admin.get('/dashboard/ip?key=203.0.113.20')).body;
  for (const [name, body] of [['overview', overview], ['ip page', ipPage]] as const) {
    assert.ok(!body.includes('<script>alert'), `${name}: raw <script> from a username`);
    assert.ok(!body.includes('<img src=x'), `${name}: raw <img> from a user agent`);
    assert.ok(!body.includes('<b onmouseover'), `${name}: raw markup from a site name`);
  }
  assert.ok(overview.includes('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;'), 'the username is in the top usernames, escaped');
  assert.ok(ipPage.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'), 'the user agent is on the IP page, escaped');
  assert.ok(ipPage.includes('x=&#39;&gt;&lt;svg/onload=alert(2)&gt;'), 'the path is on the IP page, escaped');
  assert.ok(overview.includes('&lt;b onmouseover=alert(3)&gt;site&lt;/b&gt;'), 'the site name is in the chart legend, escaped');
});

test('a form without the session CSRF token is refused with 403 and changes nothing', async () => {
  await banByEvents('203.0.113.30');
  const missing = await admin.post('/dashboard/bans/unban', { ip_key: '203.0.113.30' }, null);
  assert.equal(missing.statusCode, 403);
  const wrong = await admin.post('/dashboard/bans/unban', { ip_key: '203.0.113.30' }, 'not-the-csrf-token');
  assert.equal(wrong.statusCode, 403);
  const otherSession = await signIn(svc.app, ADMIN_TOKEN);
  const crossed = await admin.post('/dashboard/bans/unban', { ip_key: '203.0.113.30' }, otherSession.csrf);
  assert.equal(crossed.statusCode, 403, "another session's token is not this session's");
  // Even beside the CSRF secret it was made with (one browser, two sessions): a token is bound to its session.
  const otherSecret = otherSession.cookie.split('; ').find((c) => c.startsWith('edgejail_csrf='))!;
  const sameBrowser = await svc.app.inject({
    method: 'POST',
    url: '/dashboard/bans/unban',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${admin.cookie.split('; ')[0]}; ${otherSecret}` },
    payload: form({ ip_key: '203.0.113.30', csrf: otherSession.csrf }),
  });
  assert.equal(sameBrowser.statusCode, 403, "another session's token, with its own secret, is still not this session's");
  // Nor does the sign-in form's token pass for a signed-in form.
  const login = await openLoginForm(svc.app);
  const withLoginToken = await svc.app.inject({
    method: 'POST',
    url: '/dashboard/bans/unban',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${admin.cookie.split('; ')[0]}; ${login.cookie}` },
    payload: form({ ip_key: '203.0.113.30', csrf: login.csrf }),
  });
  assert.equal(withLoginToken.statusCode, 403, "the sign-in form's token is not a session's");
  assert.ok(svc.app.core.bans.currentBan('203.0.113.30'));
  assert.ok(!auditRows('203.0.113.30').some((r) => r.action === 'unban'));
});

test('unban from the form lifts the ban, writes the audit log as admin:dashboard and says so once', async () => {
  await banByEvents('203.0.113.40');
  const res = await admin.post('/dashboard/bans/unban', { ip_key: '203.0.113.40', back: 'overview' });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/dashboard');
  assert.equal(svc.app.core.bans.currentBan('203.0.113.40'), null);
  assert.deepEqual(auditRows('203.0.113.40').at(-1), { actor: 'admin:dashboard', action: 'unban' });
  const ban = svc.app.core.db.prepare("SELECT state, lifted_by FROM bans WHERE ip_key = '203.0.113.40'").get();
  assert.deepEqual({ ...(ban as object) }, { state: 'lifted', lifted_by: 'admin:dashboard' });

  const next = await admin.get('/dashboard');
  assert.match(next.body, /role="status">Unbanned 203\.0\.113\.40 \(1 ban lifted\)/);
  assert.doesNotMatch((await admin.get('/dashboard')).body, /Unbanned 203\.0\.113\.40/, 'the message shows once');

  const again = await admin.refused('/dashboard/bans/unban', { ip_key: '203.0.113.40', back: 'overview' });
  assert.equal(again.location, '/dashboard');
  assert.match(again.alert, /203\.0\.113\.40 has no active ban/);
});

test('a manual ban from the form goes through the core; bad input is a 4xx naming the field', async () => {
  const ok = await admin.post('/dashboard/bans', { ip: '198.51.100.90', duration: '2h', reason: 'seen in nginx log', back: 'ip' });
  assert.equal(ok.statusCode, 303);
  assert.equal(ok.headers.location, '/dashboard/ip?key=198.51.100.90');
  const ban = svc.app.core.bans.currentBan('198.51.100.90');
  assert.equal(ban?.jail, 'manual');
  assert.equal(ban!.expiresAtMs - clock, 7200_000);
  assert.deepEqual(auditRows('198.51.100.90'), [{ actor: 'admin:dashboard', action: 'ban' }]);

  const badIp = await admin.refused('/dashboard/bans', { ip: 'not-an-ip', duration: '1h' });
  assert.match(badIp.alert, /ip: must be an IPv4 or IPv6 address/);
  const badDuration = await admin.refused('/dashboard/bans', { ip: '198.51.100.91', duration: 'soon' });
  assert.match(badDuration.alert, /duration: "soon" is not a duration/);
  const protectedIp = await admin.refused('/dashboard/bans', { ip: '127.0.0.1', duration: '1h' });
  assert.match(protectedIp.alert, /127\.0\.0\.1 is protected/);
  assert.equal(svc.app.core.bans.currentBan('198.51.100.91'), null);
});

test('extend adds time to the ban in force, as admin:dashboard', async () => {
  await banByEvents('203.0.113.50');
  const before = svc.app.core.bans.currentBan('203.0.113.50')!.expiresAtMs;
  const res = await admin.post('/dashboard/bans/extend', { ip_key: '203.0.113.50', by: '1d', back: 'ip' });
  assert.equal(res.statusCode, 303);
  assert.equal(svc.app.core.bans.currentBan('203.0.113.50')!.expiresAtMs, before + 86_400_000);
  assert.deepEqual(auditRows('203.0.113.50').at(-1), { actor: 'admin:dashboard', action: 'ban' });
  const notBanned = await admin.refused('/dashboard/bans/extend', { ip_key: '203.0.113.51', by: '1d', back: 'ip' });
  assert.equal(notBanned.location, '/dashboard/ip?key=203.0.113.51');
  assert.match(notBanned.alert, /203\.0\.113\.51 has no active ban to extend/);
  const badBy = await admin.refused('/dashboard/bans/extend', { ip_key: '203.0.113.50', by: 'forever' });
  assert.match(badBy.alert, /by: "forever" is not a duration/);
});

test('allowlisting an address from the form records it and can lift its bans', async () => {
  await banByEvents('203.0.113.60');
  const res = await admin.post('/dashboard/allowlist', { cidr: '203.0.113.60', note: 'our monitoring', unban: '1', back: 'overview' });
  assert.equal(res.statusCode, 303);
  const entry = svc.app.core.store.listAllowlist().find((e) => e.cidr === '203.0.113.60');
  assert.deepEqual({ note: entry?.note, created_by: entry?.created_by }, { note: 'our monitoring', created_by: 'admin:dashboard' });
  assert.equal(svc.app.core.bans.currentBan('203.0.113.60'), null);
  assert.deepEqual(auditRows('203.0.113.60').slice(-2).map((r) => `${r.actor} ${r.action}`).sort(), ['admin:dashboard allowlist_add', 'admin:dashboard unban']);
  const after = await postEvents(svc.app, svc.site, Array.from({ length: 6 }, () => attempt('203.0.113.60')));
  assert.deepEqual(after.json().decisions, [], 'allowlisted: counted no more');

  const bad = await admin.refused('/dashboard/allowlist', { cidr: '10.0.0.0/99' });
  assert.match(bad.alert, /cidr: must be an IP address or CIDR range/);
});

test('the overview shows the attack: chart per site, bans with Cloudflare state, top lists', async () => {
  await banByEvents('2001:db8:77:1::5', '2001:db8:77:1::/64');
  const page = (await admin.get('/dashboard')).body;
  assert.match(page, /<svg class="chart chart-wide"[^>]*role="img"/);
  assert.match(page, /<polyline points="[^"]+" fill="none" stroke="#0b62a4"/);
  assert.match(page, /<th scope="row"[^>]*><a class="mono" href="\/dashboard\/ip\?key=2001%3Adb8%3A77%3A1%3A%3A%2F64">2001:db8:77:1::\/64<\/a><\/th>/);
  assert.match(page, /<span class="badge badge-info">dry-run<\/span>/);
  assert.match(page, /2001:db8:77:1::\/64<\/span><\/th><td class="num">5<\/td>/, 'the /64 is among the top networks');
  assert.match(page, /Cloudflare sync/);

  const ipv6 = await admin.get('/dashboard/ip?key=2001%3Adb8%3A77%3A1%3A%3A%2F64');
  assert.equal(ipv6.statusCode, 200);
  assert.match(ipv6.body, /<h1 class="mono">2001:db8:77:1::\/64<\/h1>/);
  const bad = await admin.get('/dashboard/ip?key=%3Cscript%3E');
  assert.equal(bad.statusCode, 400);
  assert.match(bad.body, /&quot;&lt;script&gt;&quot; is not an IP address/);

  const live = await admin.get('/dashboard?live=1');
  assert.match(live.body, /<body data-live="15">/);
  assert.doesNotMatch(page, /data-live=/);
});

test('the filter narrows the active bans table', async () => {
  const page = (await admin.get('/dashboard?q=2001%3Adb8')).body;
  const table = page.slice(page.indexOf('<table class="bans'), page.indexOf('</table>', page.indexOf('<table class="bans')));
  assert.match(table, /2001:db8:77:1::\/64/);
  assert.doesNotMatch(table, /203\.0\.113\.30/);
});

test('sign-out ends the session; its CSRF token is needed for that too', async () => {
  const session = await signIn(svc.app, ADMIN_TOKEN);
  assert.equal((await session.post('/dashboard/logout', {}, null)).statusCode, 403);
  const out = await session.post('/dashboard/logout', {});
  assert.equal(out.statusCode, 303);
  assert.match(setCookieLine(out, 'edgejail_session')!, /Max-Age=0/);
  assert.equal((await session.get('/dashboard')).statusCode, 303);
});

test('ten wrong tokens throttle that client with 429, never the right token and never another client', async () => {
  const other = await startService();
  try {
    const guess = (i: number) => `guess-${i}-0000000000000000000000`;
    for (let i = 0; i < 10; i++) assert.equal((await postLogin(other.app, guess(i), {}, '198.51.100.66')).headers.location, '/dashboard/login?refused=token');
    const blocked = await postLogin(other.app, guess(10), {}, '198.51.100.66');
    assert.equal(blocked.statusCode, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    assert.match(blocked.body, /Too many wrong tokens/);
    // The guesser cannot lock the admin out: from the guessing address or any other.
    assert.equal((await postLogin(other.app, ADMIN_TOKEN, {}, '198.51.100.66')).statusCode, 303);
    assert.equal((await postLogin(other.app, ADMIN_TOKEN, {}, '192.0.2.10')).statusCode, 303);
    assert.equal((await postLogin(other.app, guess(11), {}, '192.0.2.10')).headers.location, '/dashboard/login?refused=token', 'another client is not throttled');
  } finally {
    await other.close();
  }
});

test('behind a trusted proxy the throttle keys on the forwarded client; an untrusted peer cannot pick its key', async () => {
  const other = await startService({ trusted_proxies: ['127.0.0.0/8'] });
  try {
    const guess = (i: number) => `guess-${i}-0000000000000000000000`;
    for (let i = 0; i < 10; i++) await postLogin(other.app, guess(i), { 'x-forwarded-for': '198.51.100.70' }, '127.0.0.1');
    assert.equal((await postLogin(other.app, guess(10), { 'x-forwarded-for': '198.51.100.70' }, '127.0.0.1')).statusCode, 429);
    assert.equal((await postLogin(other.app, guess(10), { 'x-forwarded-for': '198.51.100.71' }, '127.0.0.1')).headers.location, '/dashboard/login?refused=token', 'the proxy itself is not throttled');
    // A client that is not a trusted proxy is keyed by its own address, whatever it forwards.
    for (let i = 0; i < 10; i++) await postLogin(other.app, guess(i), { 'x-forwarded-for': `203.0.113.${i}` }, '192.0.2.20');
    assert.equal((await postLogin(other.app, guess(10), { 'x-forwarded-for': '203.0.113.99' }, '192.0.2.20')).statusCode, 429);
  } finally {
    await other.close();
  }
});

test('unknown dashboard pages are an HTML 404; the assets are served with their types', async () => {
  const missing = await admin.get('/dashboard/nope');
  assert.equal(missing.statusCode, 404);
  assert.match(String(missing.headers['content-type']), /text\/html/);
  const css = await svc.app.inject({ method: 'GET', url: '/dashboard/assets/style.css' });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers['content-type']), /text\/css/);
  const js = await svc.app.inject({ method: 'GET', url: '/dashboard/assets/live.js' });
  assert.match(String(js.headers['content-type']), /javascript/);
  assert.equal((await svc.app.inject({ method: 'GET', url: '/dashboard/assets/..%2fplugin.ts' })).statusCode, 404);
});

test('a session idle for more than two hours has ended', async () => {
  const session = await signIn(svc.app, ADMIN_TOKEN);
  clock += 2 * 3600_000 + 1000;
  const res = await session.get('/dashboard');
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/dashboard/login');
});

test('the chart counts each attempt in the half hour it happened, weighted', async () => {
  const nowMs = Date.now();
  const fresh = await startService({}, { now: () => nowMs });
  try {
    const session = await signIn(fresh.app, ADMIN_TOKEN);
    const halfHour = 1800_000;
    const previous = Math.floor(nowMs / halfHour) * halfHour - halfHour;
    // Late in the previous half hour: rounding instead of flooring would move it to the next.
    const late = previous + halfHour - 60_000;
    await postEvents(fresh.app, fresh.site, [
      attempt('198.51.100.200', { occurred_at: new Date(late).toISOString() }),
      attempt('198.51.100.201', { occurred_at: new Date(late).toISOString(), type: 'xmlrpc_multicall', weight: 3 }),
      attempt('198.51.100.202', { occurred_at: new Date(late).toISOString(), type: 'login_succeeded' }),
    ]);
    const page = (await session.get('/dashboard')).body;
    const label = `${new Date(previous).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const rows = [...page.matchAll(/<tr><th scope="row">([^<]+)<\/th><td class="num">(\d+)<\/td><\/tr>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(rows, [[label, '4']], 'one row, in the half hour of the attempts; the successful login is no attack');
    assert.match(page, /4 failed attempts in 1 series/);
  } finally {
    await fresh.close();
  }
});
