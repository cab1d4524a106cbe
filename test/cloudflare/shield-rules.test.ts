// The login shield's WAF custom rules, through the real SDK against the fake Cloudflare:
// one rule at a time, tagged, never at the cost of the zone owner's own rules.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../server/store/db.ts';
import { createEnforcementStore } from '../../server/store/enforcement.ts';
import { createCloudflareApi } from '../../server/cloudflare/api.ts';
import { createShieldRulesApi, parseShieldTag, shieldExpression, shieldTag, type ShieldRuleSpec } from '../../server/cloudflare/shield-rules.ts';
import { startFakeCloudflare, type FakeCloudflare } from '../fake-cloudflare/server.ts';
import { testConfig } from './support.ts';

let fake: FakeCloudflare;
let db: Db;
let dir: string;
let shield: ReturnType<typeof createShieldRulesApi>;
const stop = new AbortController();

before(async () => {
  fake = await startFakeCloudflare();
  dir = mkdtempSync(join(tmpdir(), 'edgejail-shield-rules-'));
  db = openDatabase(join(dir, 'edgejail.db'));
  const api = createCloudflareApi({ config: testConfig(fake, { zone_id: fake.zoneId }), store: createEnforcementStore(db), now: Date.now, stopSignal: stop.signal });
  shield = createShieldRulesApi(api);
});
after(async () => {
  stop.abort();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  await fake.close();
});
beforeEach(() => fake.reset());

const SITE = '5b0c7d1e-0000-4000-8000-000000000001';
const login = (): ShieldRuleSpec => ({ siteId: SITE, zoneId: fake.zoneId, hostname: 'shop.example.com', part: 'login', action: 'managed_challenge' });
const xmlrpc = (): ShieldRuleSpec => ({ ...login(), part: 'xmlrpc', action: 'block' });

describe('shield rules', () => {
  it('in a zone without custom rules, creates the entrypoint with our rule (POST, never PUT)', async () => {
    const rule = await shield.add(login());
    assert.equal(rule.action, 'managed_challenge');
    assert.equal(rule.expression, '(http.host eq "shop.example.com" and http.request.method eq "POST" and http.request.uri.path contains "/wp-login.php")');
    assert.deepEqual(parseShieldTag(rule.description), { siteId: SITE, part: 'login' });
    assert.deepEqual(fake.customRules().map((r) => r.id), [rule.id]);
    assert.equal(fake.callCount({ method: 'POST', pathIncludes: '/rulesets' }), 1);
    assert.equal(fake.callCount({ method: 'PUT' }), 0);
  });

  it('adds, edits and deletes only our rule; the owner’s rule before it stays exactly as it was', async () => {
    const foreign = fake.addForeignCustomRule({ action: 'block', expression: 'ip.src.country eq "XX"', description: 'owner: block XX' });
    const ours = await shield.add(login());
    const xml = await shield.add(xmlrpc());
    assert.deepEqual(fake.customRules().map((r) => r.id), [foreign.id, ours.id, xml.id]);
    assert.equal(xml.action, 'block');
    assert.match(xml.expression, /"\/xmlrpc\.php"/);

    const edited = await shield.edit({ ...login(), action: 'js_challenge' }, ours);
    assert.equal(edited.id, ours.id);
    assert.equal(edited.action, 'js_challenge');
    assert.equal(edited.description, ours.description, 'the tag survives an edit (PATCH replaces the whole definition)');

    assert.equal(await shield.delete(fake.zoneId, ours), 'deleted');
    assert.equal(await shield.delete(fake.zoneId, xml), 'deleted');
    assert.equal(await shield.delete(fake.zoneId, xml), 'gone', 'a second delete is not an error');
    assert.deepEqual(fake.customRules(), [foreign], 'the foreign rule is untouched: same id, version, expression');
    assert.equal(fake.callCount({ method: 'PUT' }), 0);
  });

  it('adding again edits the rule already there instead of stacking a second (a retry after a lost answer)', async () => {
    fake.injectFault({ kind: 'drop_response', match: { method: 'POST', pathIncludes: '/rulesets' } });
    await assert.rejects(shield.add(login()));
    assert.equal(fake.customRules().length, 1, 'the dropped create was applied');
    const rule = await shield.add(login());
    assert.deepEqual(fake.customRules().map((r) => r.id), [rule.id]);
  });

  it('two rules of ours for one part (a race between processes) end as one; the owner’s rule stays', async () => {
    const owner = fake.addForeignCustomRule({ action: 'block', expression: 'ip.src eq 192.0.2.9', description: 'owner' });
    const body = { action: 'managed_challenge', expression: shieldExpression('shop.example.com', 'login'), description: shieldTag(SITE, 'login') };
    const first = fake.addForeignCustomRule(body);
    fake.addForeignCustomRule(body);
    const rule = await shield.add({ ...login(), action: 'js_challenge' });
    assert.equal(rule.id, first.id);
    assert.deepEqual(fake.customRules().map((r) => [r.id, r.action]), [[owner.id, 'block'], [first.id, 'js_challenge']]);
  });

  it('when the entrypoint appears between our read and our create, adds to it rather than failing or replacing', async () => {
    const owner = fake.addForeignCustomRule({ action: 'block', expression: 'ip.src eq 192.0.2.1', description: 'owner' });
    // Our read is answered as if the zone had no entrypoint yet (the owner creates it just after),
    // so the adapter tries POST /rulesets, which Cloudflare refuses with 20217.
    fake.injectFault({ kind: 'server_error', status: 404, match: { method: 'GET', pathIncludes: '/entrypoint' } });
    const rule = await shield.add(login());
    assert.equal(fake.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/rulesets'))[0]?.status, 400, 'the create was refused');
    assert.deepEqual(fake.customRules().map((r) => r.id), [owner.id, rule.id]);
    assert.equal(fake.callCount({ method: 'PUT' }), 0);
  });

  it('findOurs tells a rule deleted by hand from one in place, and ignores rules of other sites and people', async () => {
    assert.deepEqual(await shield.findOurs(fake.zoneId, SITE), [], 'no entrypoint yet: nothing of ours');
    fake.addForeignCustomRule({ action: 'block', expression: 'http.request.uri.path contains "/wp-login.php"', description: 'edgejail was here (a person typed this)' });
    const ours = await shield.add(login());
    await shield.add({ ...login(), siteId: 'another-site' });
    assert.deepEqual((await shield.findOurs(fake.zoneId, SITE)).map((r) => r.id), [ours.id]);
    assert.deepEqual((await shield.findOurs(fake.zoneId, SITE, 'xmlrpc')).map((r) => r.id), []);

    assert.equal(fake.deleteCustomRuleByHand(ours.id), true);
    assert.deepEqual(await shield.findOurs(fake.zoneId, SITE, 'login'), [], 'the future reconciler sees the rule is missing');
    assert.equal(await shield.delete(fake.zoneId, ours), 'gone');
  });

  it('records every call it makes in cloudflare_actions', async () => {
    await shield.add(login());
    const ops = (db.prepare("SELECT operation FROM cloudflare_actions WHERE operation LIKE 'shield_%' ORDER BY id").all() as Array<{ operation: string }>).map((r) => r.operation);
    assert.deepEqual(ops.slice(-2), ['shield_read_rules', 'shield_create_entrypoint']);
  });
});

describe('shield rule text', () => {
  it('refuses a hostname that is not one (it is pasted into the expression)', () => {
    for (const bad of ['shop.example.com" or true or "', 'Shop.Example.com', 'shop.example.com:8080', '', 'a..b']) {
      assert.throws(() => shieldExpression(bad, 'login'), /is not a hostname/, bad);
    }
  });

  it('the tag parses back, and text that merely mentions edgejail is not ours', () => {
    assert.deepEqual(parseShieldTag(shieldTag('s1', 'xmlrpc')), { siteId: 's1', part: 'xmlrpc' });
    for (const text of ['edgejail:shield', 'edgejail:shield site=s1', 'my edgejail:shield site=s1 part=login', 'edgejail:192.0.2.1 jail=wordpress', '']) {
      assert.equal(parseShieldTag(text), null, text);
    }
  });
});
