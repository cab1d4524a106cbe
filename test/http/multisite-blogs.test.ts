// A WordPress network reports under one site id, each event naming its blog (site_url): the
// service keeps which blog was attacked, on the event and on the ban, and shows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, adminHeaders, attempt, postEvents, startService } from '../support/service.ts';
import { signIn, type DashboardClient } from '../browser/dashboard-client.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let admin: DashboardClient;

before(async () => {
  svc = await startService();
  admin = await signIn(svc.app, ADMIN_TOKEN);
});
after(async () => svc.close());

const SHOP = 'http://network.example/shop/';
const BLOG = 'http://network.example/blog/';

test('attempts on two blogs of one network: each event keeps its blog, and the ban names both', async () => {
  const ip = '203.0.113.40';
  const events = [SHOP, BLOG, SHOP, BLOG, SHOP].map((site_url) => ({ ...attempt(ip), site_url }));
  const res = await postEvents(svc.app, svc.site, events);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().decisions.length, 1, res.body);

  const history = await svc.app.inject({ method: 'GET', url: `/v1/ips/${ip}`, headers: adminHeaders });
  assert.equal(history.statusCode, 200, history.body);
  const stored = history.json().events as Array<{ id: string; site_url: string | null }>;
  assert.deepEqual(
    stored.map((e) => [e.id, e.site_url]).sort(),
    events.map((e) => [e.id, e.site_url]).sort(),
  );
  const ban = history.json().bans[0];
  assert.deepEqual(JSON.parse(ban.site_urls), [BLOG, SHOP], 'distinct blogs, in order');

  const listed = await svc.app.inject({ method: 'GET', url: '/v1/bans?state=active', headers: adminHeaders });
  const mine = listed.json().bans.find((b: { ip_key: string }) => b.ip_key === ip);
  assert.deepEqual(JSON.parse(mine.site_urls), [BLOG, SHOP]);

  const page = (await admin.get(`/dashboard/ip?key=${ip}`)).body;
  assert.match(page, /<span class="blogs muted">on <span class="mono blog">http:\/\/network\.example\/blog\/<\/span>, <span class="mono blog">http:\/\/network\.example\/shop\/<\/span><\/span>/, 'the ban says which blogs');
  assert.equal(page.split('<span class="mono blog muted">http://network.example/shop/</span>').length - 1, 3, 'each event row names its blog');
  const overview = (await admin.get('/dashboard')).body;
  assert.match(overview, /on <span class="mono blog">http:\/\/network\.example\/blog\/<\/span>, <span class="mono blog">http:\/\/network\.example\/shop\/<\/span>/);
});

test('a single site that does not send site_url: stored as null, and the ban names no blog', async () => {
  const ip = '203.0.113.41';
  const res = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, () => attempt(ip)));
  assert.equal(res.json().decisions.length, 1, res.body);
  const history = (await svc.app.inject({ method: 'GET', url: `/v1/ips/${ip}`, headers: adminHeaders })).json();
  assert.ok(history.events.every((e: { site_url: unknown }) => e.site_url === null));
  assert.equal(history.bans[0].site_urls, null);
  assert.doesNotMatch((await admin.get(`/dashboard/ip?key=${ip}`)).body, /class="blogs/);
});

test('a manual ban names no blog', async () => {
  const res = await svc.app.inject({ method: 'POST', url: '/v1/bans', headers: adminHeaders, payload: { ip: '203.0.113.42', reason: 'by hand' } });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().ban.site_urls, null);
});

test('a self_unlock names its blog too', async () => {
  const res = await postEvents(svc.app, svc.site, [
    { id: crypto.randomUUID(), type: 'self_unlock', ip: '203.0.113.43', occurred_at: new Date().toISOString(), username: 'alice', site_url: SHOP },
  ]);
  assert.equal(res.statusCode, 200, res.body);
  const history = (await svc.app.inject({ method: 'GET', url: '/v1/ips/203.0.113.43', headers: adminHeaders })).json();
  assert.equal(history.events[0].site_url, SHOP);
});

const badUrls: Array<[string, unknown]> = [
  ['not a URL', 'network.example/shop'],
  ['an ftp:// URL', 'ftp://network.example/'],
  ['a javascript: URL', 'javascript:alert(1)'],
  ['credentials in it', 'http://user:pw@network.example/'],
  ['longer than 2048', `http://network.example/${'a'.repeat(2048)}`],
  ['a number', 42],
];
for (const [name, site_url] of badUrls) {
  test(`400 naming events[0].site_url when it is ${name}, and nothing is stored`, async () => {
    const before = svc.app.core.store.countEvents();
    const res = await postEvents(svc.app, svc.site, [attempt('198.51.100.40', { site_url })]);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error, 'invalid_payload');
    assert.match(res.json().message, /^events\[0\]\.site_url: /);
    assert.equal(svc.app.core.store.countEvents(), before);
  });
}
