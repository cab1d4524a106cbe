// The overview's login shield banner over app.inject(): one banner per site with its shield
// up, a Lower button that goes the way of `edgejail shield down` (CSRF like every form), and
// the chart shading the time a shield was up, lowered ones included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, addSite, startService } from '../support/service.ts';
import { signIn, type DashboardClient } from '../browser/dashboard-client.ts';
import { shieldBanners } from '../../server/dashboard/views/shield-banner.ts';

const ZONE = 'fedcba9876543210fedcba9876543210';
let svc: Awaited<ReturnType<typeof startService>>;
let admin: DashboardClient;

before(async () => {
  svc = await startService({}, {}, { CLOUDFLARE_ZONE_ID: ZONE });
  admin = await signIn(svc.app, ADMIN_TOKEN);
});
after(async () => svc.close());

test('a site with its shield up gets a banner with since, reason and a Lower button; lowering it takes the banner away and keeps the mark on the chart', async () => {
  const shop = addSite(svc.app, 'shop');
  addSite(svc.app, 'calm-blog');
  const unnamed = addSite(svc.app, 'no-hostname');
  svc.app.core.shield.setSiteZone(shop.id, { hostname: 'shop.example.com' });
  const { shield } = svc.app.core.shield.raise(shop.id, { durationSeconds: 3600, reason: '312 failures from 211 IPs in 5m', actor: 'admin:cli' });
  svc.app.core.shield.raise(unnamed.id, { durationSeconds: 3600, reason: 'by hand', actor: 'admin:cli' });

  const page = await admin.get('/dashboard');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, new RegExp(`shop: Login shield up since <time datetime="${shield.raised_at}">[^<]+</time> \\(312 failures from 211 IPs in 5m\\)`));
  assert.doesNotMatch(page.body, /calm-blog: Login shield up/);
  assert.match(page.body, /POSTs to the login form on shop\.example\.com get a Cloudflare challenge/);
  // Up but with nowhere to put the rule: the owner is told the bots still reach PHP, and what to set.
  assert.match(page.body, /no-hostname: Login shield up since[\s\S]*?<strong>Not at Cloudflare:<\/strong> the site has no hostname yet/);
  const lowerForm = new RegExp(`<form method="post" action="/dashboard/shield/lower" class="inline">\\s*<input type="hidden" name="csrf" value="([^"]+)">\\s*<input type="hidden" name="site" value="${shop.id}">`).exec(page.body);
  assert.ok(lowerForm, 'the Lower button is a form with a CSRF field and the site');
  assert.match(page.body, /<g class="shield-mark"><title>shop: login shield up [^<]+ – now \(312 failures/);

  // Dry-run (no API token): the banner says the rule was recorded, not sent, once the worker has taken it up.
  for (let i = 0; !/dry-run: recorded, not sent to Cloudflare/.test((await admin.get('/dashboard')).body); i++) {
    assert.ok(i < 2_000, 'the banner never showed the rule recorded in dry-run');
    await new Promise((r) => setTimeout(r, 10));
  }

  // No CSRF field: refused, and the shield stays up.
  const forged = await admin.post('/dashboard/shield/lower', { site: shop.id }, null);
  assert.equal(forged.statusCode, 403);
  assert.equal(svc.app.core.shield.status().find((s) => s.site_id === shop.id)?.up, true);

  // The token in that very form is the one that lowers it.
  const lowered = await admin.post('/dashboard/shield/lower', { site: shop.id }, lowerForm[1]);
  assert.equal(lowered.statusCode, 303);
  assert.equal(lowered.headers.location, '/dashboard');
  assert.equal(svc.app.core.shield.status().find((s) => s.site_id === shop.id)?.up, false);
  const audit = svc.app.core.db.prepare("SELECT actor FROM audit_log WHERE action = 'shield_down' AND site_id = ?").all(shop.id) as Array<{ actor: string }>;
  assert.deepEqual(audit.map((a) => a.actor), ['admin:dashboard']);
  // The edge follows: nothing of the shield is left placed (dry-run here: recorded, not called).
  for (let i = 0; ; i++) {
    const live = svc.app.core.db.prepare("SELECT count(*) AS n FROM shield_rules WHERE site_id = ? AND state != 'removed'").get(shop.id) as { n: number };
    const queued = svc.app.core.db.prepare('SELECT count(*) AS n FROM enforcement_outbox WHERE ip_key = ?').get(`shield:${shop.id}`) as { n: number };
    if (live.n === 0 && queued.n === 0) break;
    assert.ok(i < 2_000, 'the shield placement never caught up with the lowering');
    await new Promise((r) => setTimeout(r, 10));
  }

  const after = await admin.get('/dashboard');
  assert.match(after.body, /Lowered the login shield of shop\./);
  assert.doesNotMatch(after.body, /shop: Login shield up since/);
  assert.match(after.body, /no-hostname: Login shield up since/);
  assert.match(after.body, /<g class="shield-mark"><title>shop: login shield up [^<]+ – [^<n]+\(312 failures/);

  const again = await admin.refused('/dashboard/shield/lower', { site: shop.id });
  assert.match(again.alert, /is not up/);
  const unknown = await admin.refused('/dashboard/shield/lower', { site: 'no-such-site' });
  assert.match(unknown.alert, /no site with id or name "no-such-site"/);
});

test('a rule Cloudflare keeps refusing shows as not at Cloudflare yet, with its error escaped; one in place says so', () => {
  const base = { site_id: 's1', name: 'shop', since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T00:30:00.000Z', reason: '150 failures from 40 IPs in 5m', raised_by: 'shield:detector', zone_id: ZONE, hostname: 'shop.example.com' };
  const failed = String(shieldBanners([{ ...base, rule: { state: 'failed', attempts: 7, last_error: 'HTTP 403 (Cloudflare code 10000): <b>Authentication error</b>' } }], 'csrf-token'));
  assert.match(failed, /not at Cloudflare yet<\/span> 7 attempts so far, retrying; last error: HTTP 403 \(Cloudflare code 10000\): &lt;b&gt;Authentication error&lt;\/b&gt;/);
  assert.match(String(shieldBanners([{ ...base, rule: { state: 'active', attempts: 0, last_error: null } }], 'csrf-token')), /in place at Cloudflare/);
  assert.equal(String(shieldBanners([], 'csrf-token')), '');
});
