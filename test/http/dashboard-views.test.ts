// What an admin reads on the dashboard, point by point: looking up any IP, counts that say
// what they count, protected addresses kept apart, one default ban length from the config,
// and refused forms that a reload never posts again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, adminHeaders, attempt, postEvents, startService, testConfig, tempDir } from '../support/service.ts';
import { alertOf, signIn, type DashboardClient } from '../browser/dashboard-client.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let admin: DashboardClient;

before(async () => {
  svc = await startService();
  admin = await signIn(svc.app, ADMIN_TOKEN);
});
after(async () => svc.close());

async function banByEvents(ip: string) {
  const res = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, () => attempt(ip)));
  assert.equal(res.json().decisions.length, 1, res.body);
}

/** The HTML of one overview section, from its heading id to the end of its card. */
function sectionOf(page: string, headingId: string): string {
  const at = page.indexOf(`id="${headingId}"`);
  assert.ok(at >= 0, `no section ${headingId}`);
  return page.slice(page.lastIndexOf('<section', at), page.indexOf('</section>', at));
}

const activeCounts = () =>
  svc.app.core.db.prepare("SELECT count(*) AS bans, count(DISTINCT ip_key) AS ips FROM bans WHERE state = 'active'").get() as { bans: number; ips: number };

// ---- 10: looking up any address or prefix ----

test('every signed-in page has a search box that goes to the IP page; ?ip= works as ?key= does', async () => {
  await banByEvents('203.0.113.7');
  for (const url of ['/dashboard', '/dashboard/ip?key=203.0.113.7']) {
    const page = (await admin.get(url)).body;
    assert.match(page, /<form method="get" action="\/dashboard\/ip"[^>]*role="search"[^>]*>[\s\S]*?<input id="ip-search" name="ip"/, `${url} has the search box`);
  }
  const byIp = await admin.get('/dashboard/ip?ip=203.0.113.7');
  assert.equal(byIp.statusCode, 200, byIp.body.slice(0, 300));
  assert.match(byIp.body, /<h1 class="mono">203\.0\.113\.7<\/h1>/);
  assert.match(byIp.body, /<strong>Banned<\/strong>/);

  // An address nobody has seen is a page too: nothing stored, and a Ban form.
  const unseen = await admin.get('/dashboard/ip?ip=%20192.0.2.200%20');
  assert.equal(unseen.statusCode, 200);
  assert.match(unseen.body, /<h1 class="mono">192\.0\.2\.200<\/h1>[\s\S]*Not banned/);
  assert.match(unseen.body, /action="\/dashboard\/bans"/);

  // An IPv6 address is looked up as the /64 the jails count it under, and the page says so.
  const v6 = await admin.get('/dashboard/ip?ip=2001:db8:5:6::77');
  assert.equal(v6.statusCode, 200);
  assert.match(v6.body, /<h1 class="mono">2001:db8:5:6::\/64<\/h1>/);
  assert.match(v6.body, /You looked up <span class="mono">2001:db8:5:6::77<\/span>: EdgeJail counts and bans it as <span class="mono">2001:db8:5:6::\/64<\/span>/);
  assert.doesNotMatch(v6.body, /Addresses in/, 'one key: no list of keys inside it');

  const prefix = await admin.get('/dashboard/ip?ip=198.51.100.9/24');
  assert.equal(prefix.statusCode, 200);
  assert.match(prefix.body, /<h1 class="mono">198\.51\.100\.0\/24<\/h1>/);
  assert.match(prefix.body, /No attempts from inside this network in 24 h/);

  // A network's page lists the addresses inside it that attacked, each linked to its own page.
  const net = (await admin.get('/dashboard/ip?ip=203.0.113.0/24')).body;
  assert.match(net, /Addresses in 203\.0\.113\.0\/24, last 24 h <span class="count">1<\/span>/);
  assert.match(net, /<th scope="row"><a class="mono" href="\/dashboard\/ip\?key=203\.0\.113\.7">203\.0\.113\.7<\/a> <span class="badge badge-bad">banned<\/span><\/th>\s*<td class="num">5<\/td>/);
  await postEvents(svc.app, svc.site, [attempt('2001:db8:5:6::77'), attempt('2001:db8:5:7::1'), attempt('2001:db8:6::1')]);
  const v6net = (await admin.get('/dashboard/ip?ip=2001:db8:5::/48')).body;
  assert.match(v6net, /Addresses in 2001:db8:5::\/48, last 24 h <span class="count">2<\/span>/);
  assert.match(v6net, />2001:db8:5:6::\/64<\/a>/);
  assert.match(v6net, />2001:db8:5:7::\/64<\/a>/);
  assert.doesNotMatch(v6net, /2001:db8:6::/);

  const nothing = await admin.get('/dashboard/ip?ip=');
  assert.equal(nothing.statusCode, 400);
  assert.match(nothing.body, /Type an IP address or prefix to look up/);
  const junk = await admin.get('/dashboard/ip?ip=not-an-ip');
  assert.equal(junk.statusCode, 400);
  assert.match(junk.body, /&quot;not-an-ip&quot; is not an IP address or network \(e\.g\. 203\.0\.113\.7/);
});

test('the bans filter says how many match out of how many: "3 of 13"', async () => {
  for (const ip of ['198.51.100.31', '198.51.100.32', '198.51.100.33']) {
    const res = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip, reason: 'seen in the nginx log' } });
    assert.equal(res.statusCode, 201, res.body);
  }
  for (const ip of ['203.0.113.41', '203.0.113.42']) await banByEvents(ip);
  const total = activeCounts().bans;
  assert.ok(total > 3);

  const page = (await admin.get('/dashboard?q=NGINX')).body;
  const bans = sectionOf(page, 'bans-heading');
  assert.match(bans, new RegExp(`<span class="count" id="bans-count">3 of ${total}</span>`));
  assert.match(bans, /3 bans on 3 IPs match “NGINX”/);
  assert.equal((bans.match(/<tr>/g) ?? []).length - 1, 3, 'three rows besides the head');

  const unfiltered = sectionOf((await admin.get('/dashboard')).body, 'bans-heading');
  assert.match(unfiltered, new RegExp(`<span class="count" id="bans-count">${total}</span>`));
});

// ---- 13: bans and banned IPs are two numbers ----

test('an IP in two jails is one banned IP with two bans, and the page says which number is which', async () => {
  await banByEvents('203.0.113.88');
  const manual = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '203.0.113.88', duration: '1d' } });
  assert.equal(manual.statusCode, 201, manual.body);
  const { bans, ips } = activeCounts();
  assert.ok(bans > ips, 'one IP holds two bans');

  const page = (await admin.get('/dashboard')).body;
  assert.match(page, new RegExp(`<dt>Banned IPs</dt><dd><span class="stat-value">${ips}</span><span class="stat-note">${bans} active bans</span>`));
  assert.match(sectionOf(page, 'bans-heading'), new RegExp(`${bans} bans on ${ips} IPs \\(an IP can be banned by several jails at once; Cloudflare holds one block per IP\\)`));
  assert.match(sectionOf(page, 'cf-heading'), /<th scope="row">Blocks<\/th><td><span class="badges">[\s\S]*?<\/span> <span class="muted block">one per banned IP<\/span><\/td>/);
  // The Cloudflare card's block count is per IP: the same number as banned IPs.
  const blocks = svc.app.enforcer.status().states;
  assert.equal(Object.entries(blocks).filter(([state]) => state !== 'removed').reduce((sum, [, n]) => sum + n, 0), ips);
});

// ---- 11: protected addresses ----

test('a never-ban address is no attacker: left out of the top IPs and the count, listed apart with its reason', async () => {
  await postEvents(svc.app, svc.site, Array.from({ length: 40 }, () => attempt('10.1.2.3')));
  await postEvents(svc.app, svc.site, Array.from({ length: 3 }, () => attempt('198.51.100.77')));
  const page = (await admin.get('/dashboard')).body;

  const top = sectionOf(page, 'top-ips');
  assert.doesNotMatch(top, /10\.1\.2\.3/);
  assert.match(top, /198\.51\.100\.77/);
  const attackers = svc.app.core.db.prepare("SELECT count(DISTINCT ip_key) AS n FROM events WHERE type != 'login_succeeded' AND ignored_reason IS NULL").get() as { n: number };
  assert.match(page, new RegExp(`<dt>Attacking IPs</dt><dd><span class="stat-value">${attackers.n}</span><span class="stat-note">plus 1 protected address, not counted</span>`));

  const protectedCard = sectionOf(page, 'protected-heading');
  assert.match(protectedCard, /10\.1\.2\.3<\/a><\/th><td><span class="badge badge-protected" title="[^"]*private network address[^"]*">never banned: private<\/span><\/td><td class="num">40<\/td>/);

  // Its page says why, and offers no Ban form that would only fail.
  const ipPage = (await admin.get('/dashboard/ip?ip=10.1.2.3')).body;
  assert.match(ipPage, /<strong>Protected<\/strong>/);
  assert.match(ipPage, /Why EdgeJail never bans this address/);
  assert.match(ipPage, /a private network address \(RFC 1918 or IPv6 unique local\)/);
  assert.match(ipPage, /a proxy in front of that site hands over its own address/);
  assert.doesNotMatch(ipPage, /action="\/dashboard\/bans"/);
  assert.match(ipPage, /Events <span class="count">40<\/span>/, 'its events are still shown');
});

test('an address allowlisted after it was counted moves out of the attackers, and its page names the entry', async () => {
  await postEvents(svc.app, svc.site, Array.from({ length: 4 }, () => attempt('198.51.100.150')));
  assert.match(sectionOf((await admin.get('/dashboard')).body, 'top-ips'), /198\.51\.100\.150/);
  const added = await admin.post('/dashboard/allowlist', { cidr: '198.51.100.144/28', note: 'uptime monitor', back: 'overview' });
  assert.equal(added.statusCode, 303);

  const page = (await admin.get('/dashboard')).body;
  assert.doesNotMatch(sectionOf(page, 'top-ips'), /198\.51\.100\.150/);
  assert.match(sectionOf(page, 'protected-heading'), /198\.51\.100\.150<\/a><\/th><td><span class="badge badge-protected"[^>]*>allowlisted<\/span>/);
  const ipPage = (await admin.get('/dashboard/ip?ip=198.51.100.150')).body;
  assert.match(ipPage, /It is on the allowlist\./);
  assert.match(ipPage, /Allowlist entry <span class="mono">198\.51\.100\.144\/28<\/span>: added at runtime \(“uptime monitor”\)/);
  assert.doesNotMatch(ipPage, /action="\/dashboard\/bans"/);
});

// ---- 14: one default ban length, from the config ----

test('the default manual ban is the config manual_ban_duration (1h unless set): in the form, the admin API and the dashboard', async () => {
  assert.equal(svc.config.manual_ban_duration, 3600);
  assert.match((await admin.get('/dashboard')).body, /<input id="ban-duration" name="duration" value="1h"/);
  const api = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '198.51.100.201' } });
  assert.equal(api.statusCode, 201);
  assert.equal(Date.parse(api.json().ban.expires_at) - Date.parse(api.json().ban.created_at), 3600_000);

  const other = await startService({ manual_ban_duration: '3d' });
  try {
    const session = await signIn(other.app, ADMIN_TOKEN);
    assert.match((await session.get('/dashboard')).body, /<input id="ban-duration" name="duration" value="3d"/);
    assert.match((await session.get('/dashboard/ip?ip=198.51.100.202')).body, /<input id="ban-duration" name="duration" value="3d"/);
    const viaApi = await other.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '198.51.100.202' } });
    assert.equal(Date.parse(viaApi.json().ban.expires_at) - Date.parse(viaApi.json().ban.created_at), 3 * 86_400_000);
    // A blank duration field means the default too.
    const viaForm = await session.post('/dashboard/bans', { ip: '198.51.100.203', duration: ' ', reason: '', back: 'overview' });
    assert.equal(viaForm.statusCode, 303);
    const ban = other.app.core.bans.currentBan('198.51.100.203')!;
    assert.equal(ban.expiresAtMs - Date.parse((other.app.core.db.prepare("SELECT created_at FROM bans WHERE ip_key = '198.51.100.203'").get() as { created_at: string }).created_at), 3 * 86_400_000);
  } finally {
    await other.close();
  }

  const tmp = tempDir();
  try {
    assert.throws(() => testConfig(tmp.dir, { manual_ban_duration: 'soon' }), /manual_ban_duration/);
    assert.throws(() => testConfig(tmp.dir, { manual_ban_duration: 0 }), /manual_ban_duration: must be longer than 0 s/);
  } finally {
    tmp.cleanup();
  }
});

// ---- 15: Post/Redirect/Get for refused forms ----

test('a refused form redirects back (303) with the reason shown once and its fields filled again; a reload posts nothing', async () => {
  const res = await admin.post('/dashboard/bans', { ip: '10.9.8.7', duration: '2h', reason: 'from <the> log', back: 'overview' });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/dashboard');

  const shown = (await admin.get('/dashboard')).body;
  assert.match(alertOf(shown), /10\.9\.8\.7 is protected \(never_ban:private\); EdgeJail never bans it/);
  assert.match(shown, /<input id="ban-ip" name="ip"[^>]*value="10\.9\.8\.7">/);
  assert.match(shown, /<input id="ban-duration" name="duration" value="2h"/);
  assert.match(shown, /<input id="ban-reason" name="reason" value="from &lt;the&gt; log"/);
  // Reloading the page the browser landed on is a GET: the message is gone and nothing was re-sent.
  const reloaded = (await admin.get('/dashboard')).body;
  assert.equal(alertOf(reloaded), '');
  assert.match(reloaded, /<input id="ban-duration" name="duration" value="1h"/);

  // From the IP page, back to the IP page.
  const fromIp = await admin.refused('/dashboard/bans/extend', { ip_key: '198.51.100.99', by: '1d', back: 'ip' });
  assert.equal(fromIp.location, '/dashboard/ip?key=198.51.100.99');
  assert.match(fromIp.alert, /198\.51\.100\.99 has no active ban to extend/);
  const allow = await admin.refused('/dashboard/allowlist', { cidr: '0.0.0.0/0', note: 'everyone', back: 'overview' });
  assert.match(allow.body, /<input id="allow-cidr" name="cidr"[^>]*value="0\.0\.0\.0\/0">/);
  assert.match(allow.body, /<input id="allow-note" name="note"[^>]*value="everyone">/);
});
