// `edgejail cloudflare setup|verify|reconcile|actions` against the fake, through the real SDK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness } from './support.ts';
import { runCloudflareCommand } from '../../server/cloudflare/commands.ts';
import type { CloudflareConfig } from '../../server/cloudflare/config.ts';
import type { Db } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { createShieldStore } from '../../server/store/shields.ts';

async function run(argv: string[], db: Db, config: CloudflareConfig) {
  const lines: string[] = [];
  const code = await runCloudflareCommand(argv, { db, config, out: (line) => lines.push(line) });
  return { code, text: lines.join('\n') };
}

test('verify checks the token and the scope, and names the permission that is missing', async () => {
  const h = await createHarness();
  try {
    const good = await run(['verify'], h.db, h.config);
    assert.equal(good.code, 0, good.text);
    assert.match(good.text, /ok {3}token is active/);
    assert.match(good.text, /ok {3}can read IP Access Rules \(account scope\)/);
    assert.ok(!good.text.includes(h.fake.token));

    const badToken = await run(['verify'], h.db, { ...h.config, api_token: 'not-the-token' });
    assert.equal(badToken.code, 1);
    assert.match(badToken.text, /FAIL token: HTTP 401.*wrong, expired or revoked/);

    const otherAccount = await run(['verify'], h.db, { ...h.config, account_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' });
    assert.equal(otherAccount.code, 1);
    assert.match(otherAccount.text, /FAIL IP Access Rules \(account scope\): HTTP 403/);
    assert.match(otherAccount.text, /missing permission: Account > Account Firewall Access Rules > Edit/);

    const zone = await run(['verify'], h.db, { ...h.config, scope: 'zone', zone_id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' });
    assert.match(zone.text, /missing permission: Zone > Firewall Services > Edit/);

    const lists = await run(['verify'], h.db, { ...h.config, backend: 'list', account_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' });
    assert.match(lists.text, /missing permission: Account > Account Filter Lists > Edit/);
  } finally {
    await h.close();
  }
});

test('without a token the commands say dry-run and make no call', async () => {
  const h = await createHarness({ dryRun: true });
  try {
    const verify = await run(['verify'], h.db, h.config);
    assert.equal(verify.code, 1);
    assert.match(verify.text, /CLOUDFLARE_API_TOKEN is not set/);
    const setup = await run(['setup'], h.db, h.config);
    assert.equal(setup.code, 1);
    assert.equal(h.fake.calls.length, 0);
  } finally {
    await h.close();
  }
});

test('setup creates the list and the zone custom rule once, and is idempotent', async () => {
  const h = await createHarness({ config: { backend: 'list' } });
  try {
    const config = { ...h.config, zone_id: h.fake.zoneId };
    const first = await run(['setup'], h.db, config);
    assert.equal(first.code, 0, first.text);
    assert.match(first.text, /created list edgejail_blocked/);
    assert.match(first.text, /created WAF custom rule `ip\.src in \$edgejail_blocked` \(block\) in zone/);

    const again = await run(['setup'], h.db, config);
    assert.equal(again.code, 0);
    assert.match(again.text, /list edgejail_blocked exists/);
    assert.match(again.text, /already in zone/);
    assert.equal(h.fake.callCount({ method: 'POST', pathIncludes: '/rules/lists' }), 1);
    assert.equal(h.fake.callCount({ method: 'PUT', pathIncludes: '/rulesets/' }), 1);

    const verify = await run(['verify'], h.db, config);
    assert.equal(verify.code, 0, verify.text);
    assert.match(verify.text, /WAF custom rule `ip\.src in \$edgejail_blocked` is in place/);
  } finally {
    await h.close();
  }
});

test('setup prints the exact rule to paste when the token may not create it', async () => {
  const h = await createHarness({ config: { backend: 'list' } });
  try {
    // A zone the token cannot see: the list is made, the rule must be added by hand.
    const config = { ...h.config, zone_id: 'cccccccccccccccccccccccccccccccc' };
    const result = await run(['setup'], h.db, config);
    assert.equal(result.code, 2, result.text);
    assert.match(result.text, /created list edgejail_blocked/);
    assert.match(result.text, /todo .*needs Zone > Zone WAF > Edit/);
    assert.match(result.text, /^ {9}ip\.src in \$edgejail_blocked$/m);
  } finally {
    await h.close();
  }
});

test('reconcile and actions from the command line', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    const banId = h.ban('203.0.113.33');
    h.ban('2001:db8:44::/64');
    await h.settle(enforcer);
    h.lift(banId);
    await h.settle(enforcer);
    await enforcer.stop();
    h.fake.deleteAccessRuleByValue('2001:db8:44::/64');

    const reconcile = await run(['reconcile'], h.db, h.config);
    assert.equal(reconcile.code, 0, reconcile.text);
    assert.match(reconcile.text, /queued 1 missing for re-apply/);

    const actions = await run(['actions', '203.0.113.33'], h.db, h.config);
    assert.equal(actions.code, 0);
    assert.match(actions.text, /^# 203\.0\.113\.33: not blocked/m);
    assert.match(actions.text, /create_rule +ok +HTTP 200/);
    assert.match(actions.text, /delete_rule +ok +HTTP 200/);

    // An address inside a banned IPv6 prefix finds the prefix's record.
    const v6 = await run(['actions', '2001:db8:44::1234'], h.db, h.config);
    assert.match(v6.text, /^# 2001:db8:44::\/64: pending/m);

    const bad = await run(['actions', 'not-an-ip'], h.db, h.config);
    assert.equal(bad.code, 1);
    const unknown = await run(['frobnicate'], h.db, h.config);
    assert.equal(unknown.code, 1);
    assert.match(unknown.text, /usage: edgejail cloudflare setup\|verify\|reconcile\|actions <ip>/);
  } finally {
    await h.close();
  }
});

test('verify checks the Zone WAF permission for every zone a site uses, and names the zone it is missing in', async () => {
  const h = await createHarness();
  try {
    const store = createStore(h.db);
    const shields = createShieldStore(h.db);
    const at = new Date().toISOString();
    store.insertSite({ id: 'site-a', name: 'shop', secret: 's'.repeat(43), created_at: at });
    store.insertSite({ id: 'site-b', name: 'blog', secret: 's'.repeat(43), created_at: at });
    shields.setSiteZone('site-a', { zone_id: h.fake.zoneId });
    shields.setSiteZone('site-b', { zone_id: 'cccccccccccccccccccccccccccccccc' });

    const result = await run(['verify'], h.db, h.config);
    assert.equal(result.code, 1, result.text);
    assert.match(result.text, new RegExp(`ok {3}login shield: zone ${h.fake.zoneId} \\(sites shop\\) has no custom rules yet`));
    assert.match(result.text, /FAIL login shield in zone c{32} \(sites blog\): HTTP 403/);
    assert.match(result.text, /missing permission: Zone > Zone WAF > Edit for zone c{32}/);

    shields.setSiteZone('site-b', { zone_id: null });
    const fixed = await run(['verify'], h.db, { ...h.config, zone_id: h.fake.zoneId });
    assert.equal(fixed.code, 0, fixed.text);
    assert.match(fixed.text, /\(sites shop, blog\)/);
  } finally {
    await h.close();
  }
});
