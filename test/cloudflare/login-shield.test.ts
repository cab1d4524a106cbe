// The login shield as a placement of the enforcement core: raised and lowered through the
// shield service, queued in the outbox, placed by the worker through the real SDK at the
// fake Cloudflare, and reconciled like bans. The zone owner's own rules are never touched.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { banMany, createHarness, testConfig, type Harness } from './support.ts';
import { createStore } from '../../server/store/store.ts';
import { createShieldService, type ShieldService } from '../../server/shield/shield-service.ts';
import { shieldConfigSchema } from '../../server/shield/config.ts';
import { createShieldStore } from '../../server/store/shields.ts';
import { parseShieldTag, shieldExpression, shieldTag } from '../../server/cloudflare/shield-rules.ts';
import type { Enforcer } from '../../server/enforcement/worker.ts';

const SITE = '5b0c7d1e-0000-4000-8000-0000000000aa';
const HOST = 'shop.example.com';
const LOGIN_EXPR = '(http.host eq "shop.example.com" and http.request.method eq "POST" and http.request.uri.path contains "/wp-login.php")';
const XMLRPC_EXPR = '(http.host eq "shop.example.com" and http.request.method eq "POST" and http.request.uri.path contains "/xmlrpc.php")';

let h: Harness;
let service: ShieldService;

function setUp(harness: Harness) {
  const store = createStore(harness.db);
  store.insertSite({ id: SITE, name: 'shop', secret: 's'.repeat(43), created_at: new Date().toISOString() });
  createShieldStore(harness.db).setSiteZone(SITE, { zone_id: harness.fake.zoneId, hostname: HOST });
  const wakers: Enforcer[] = harness.enforcers;
  service = createShieldService({
    db: harness.db, store, config: shieldConfigSchema.parse({}), defaultZoneId: null, now: Date.now,
    onShieldChange: () => wakers.forEach((e) => e.wake()),
  });
}

const ours = () => h.fake.customRules().filter((r) => parseShieldTag(r.description)?.siteId === SITE);
const rowsOf = () => h.db.prepare('SELECT part, state, rule_id FROM shield_rules WHERE site_id = ? ORDER BY part').all(SITE) as Array<{ part: string; state: string; rule_id: string | null }>;

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 3_000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

describe('login shield placement', () => {
  beforeEach(async () => {
    h = await createHarness({ config: { zone_id: undefined } });
    setUp(h);
  });
  afterEach(() => h.close());

  it('raising puts the login rule (managed_challenge) and the XML-RPC rule (block) in the zone and stores their ids; lowering removes both', async () => {
    const enforcer = await h.startEnforcer();
    service.raise(SITE, { durationSeconds: 600, reason: 'test attack', actor: 'admin:test' });
    await h.settle(enforcer);
    const rules = ours();
    assert.deepEqual(rules.map((r) => [r.action, r.expression, r.enabled]).sort(), [
      ['block', XMLRPC_EXPR, true],
      ['managed_challenge', LOGIN_EXPR, true],
    ]);
    assert.deepEqual(rowsOf().map((r) => [r.part, r.state]), [['login', 'active'], ['xmlrpc', 'active']]);
    assert.deepEqual(new Set(rowsOf().map((r) => r.rule_id)), new Set(rules.map((r) => r.id)));
    assert.equal(h.fake.callCount({ method: 'PUT' }), 0, 'the entrypoint is never replaced');
    assert.deepEqual(enforcer.status().shieldRules, { active: 2 });

    service.lower(SITE, 'admin:test');
    await h.settle(enforcer);
    assert.deepEqual(ours(), []);
    assert.deepEqual(rowsOf().map((r) => [r.part, r.state, r.rule_id]), [['login', 'removed', null], ['xmlrpc', 'removed', null]]);
    assert.deepEqual(enforcer.status().shieldRules, {});
  });

  it('a foreign custom rule in the zone is untouched after a raise/lower cycle and a reconcile', async () => {
    const foreign = h.fake.addForeignCustomRule({ action: 'block', expression: 'ip.src.country eq "XX"', description: 'owner: block XX' });
    const before = JSON.stringify(h.fake.customRules().find((r) => r.id === foreign.id));
    const enforcer = await h.startEnforcer();
    service.raise(SITE, { durationSeconds: 600, reason: 'test attack', actor: 'admin:test' });
    await h.settle(enforcer);
    assert.equal(ours().length, 2);
    service.lower(SITE, 'admin:test');
    await h.settle(enforcer);
    const report = await enforcer.reconcile();
    assert.deepEqual(report.errors, []);
    assert.deepEqual(h.fake.customRules().map((r) => r.id), [foreign.id]);
    assert.equal(JSON.stringify(h.fake.customRules()[0]), before);
    assert.equal(h.fake.callCount({ method: 'PUT' }), 0);
  });

  it('a rule deleted by hand while the shield is up is re-created by the reconcile', async () => {
    const enforcer = await h.startEnforcer();
    service.raise(SITE, { durationSeconds: 600, reason: 'test attack', actor: 'admin:test' });
    await h.settle(enforcer);
    const login = ours().find((r) => r.action === 'managed_challenge')!;
    assert.ok(h.fake.deleteCustomRuleByHand(login.id));
    const report = await enforcer.reconcile();
    assert.equal(report.shield?.missingReapplied, 1);
    await h.settle(enforcer);
    const again = ours().find((r) => r.action === 'managed_challenge');
    assert.ok(again, 'the login rule is back');
    assert.notEqual(again.id, login.id);
    assert.equal(rowsOf().find((r) => r.part === 'login')?.rule_id, again.id);
    const repairs = h.db.prepare("SELECT detail FROM audit_log WHERE action = 'reconcile_repair' AND ip_key = ?").all(`shield:${SITE}`) as Array<{ detail: string }>;
    assert.ok(repairs.some((r) => JSON.parse(r.detail).repair === 'missing_reapplied'));
  });

  it('a tagged rule left behind while the shield is down is removed by the reconcile', async () => {
    // A rule of ours the database does not know of: restored from an old backup, or a lost answer.
    const left = h.fake.addForeignCustomRule({ action: 'managed_challenge', expression: shieldExpression(HOST, 'login'), description: shieldTag(SITE, 'login') });
    const foreign = h.fake.addForeignCustomRule({ action: 'block', expression: 'ip.src eq 192.0.2.1', description: 'owner rule' });
    const enforcer = await h.startEnforcer();
    const report = await enforcer.reconcile();
    assert.equal(report.shield?.orphansRemoved, 1);
    assert.deepEqual(h.fake.customRules().map((r) => r.id), [foreign.id]);
    assert.ok(!h.fake.customRules().some((r) => r.id === left.id));
  });

  it('one reconcile run judges bans and shields: a zone it cannot read is one error, and the bans are still repaired', async () => {
    const enforcer = await h.startEnforcer();
    banMany(h, ['192.0.2.77']);
    service.raise(SITE, { durationSeconds: 600, reason: 'test attack', actor: 'admin:test' });
    await h.settle(enforcer);
    assert.equal(ours().length, 2);
    assert.ok(h.fake.deleteAccessRuleByValue('192.0.2.77'), 'the ban\'s rule deleted by hand');
    h.fake.injectFault({ kind: 'server_error', status: 503, times: 1_000, match: { pathIncludes: '/rulesets' } });
    const report = await enforcer.reconcile();
    h.fake.clearFaults();
    assert.equal(report.missingReapplied, 1, JSON.stringify(report));
    assert.deepEqual(report.errors.filter((e) => e.startsWith('login shield:')).map((e) => e.split(':').slice(0, 2).join(':')), [`login shield: zone ${h.fake.zoneId}`]);
    assert.deepEqual(rowsOf().map((r) => r.state), ['active', 'active'], 'a zone not read proves nothing: its rows are left alone');
    await h.settle(enforcer);
    assert.equal(h.fake.isBlocked('192.0.2.77'), true);
    assert.equal(ours().length, 2);
  });

  it('a 503 storm is ridden out with retries through the outbox, and the rule lands once it ends', async () => {
    h.fake.injectFault({ kind: 'server_error', status: 503, times: 8, match: { pathIncludes: '/rulesets' } });
    const enforcer = await h.startEnforcer();
    service.raise(SITE, { durationSeconds: 600, reason: 'test attack', actor: 'admin:test' });
    await h.settle(enforcer);
    assert.equal(ours().length, 2);
    const failures = h.db.prepare("SELECT count(*) AS n FROM cloudflare_actions WHERE ip_key = ? AND outcome = 'error' AND http_status = 503").get(`shield:${SITE}`) as { n: number };
    assert.ok(failures.n >= 1, 'the storm was met');
    assert.deepEqual(rowsOf().map((r) => r.state), ['active', 'active']);
  });

  it('a restart after a create whose answer was lost finds the rule by its tag instead of adding a second one', async () => {
    // The first process makes the create, never hears back, and is gone before its retry.
    h.fake.injectFault({ kind: 'drop_response', times: 1, match: { method: 'POST', pathIncludes: '/rulesets' } });
    const slow = testConfig(h.fake, { zone_id: undefined, retry: { base_ms: 1_500, max_ms: 1_500 } });
    const first = await h.startEnforcer(slow);
    service.raise(SITE, { durationSeconds: 600, reason: 'test attack', actor: 'admin:test' });
    await until('the create went out and its answer was lost', () => h.fake.customRules().length > 0 && (h.db.prepare('SELECT count(*) AS n FROM enforcement_outbox WHERE attempts > 0 OR last_error IS NOT NULL').get() as { n: number }).n > 0);
    await first.stop();
    assert.equal(rowsOf().find((r) => r.part === 'login')?.state, 'failed');

    const second = await h.startEnforcer();
    await h.settle(second);
    const rules = ours();
    assert.equal(rules.filter((r) => parseShieldTag(r.description)?.part === 'login').length, 1, 'one login rule, not two');
    assert.equal(rules.length, 2);
    assert.deepEqual(new Set(rowsOf().map((r) => r.rule_id)), new Set(rules.map((r) => r.id)));
  });
});

describe('login shield placement in dry-run', () => {
  beforeEach(async () => {
    h = await createHarness({ dryRun: true });
    setUp(h);
  });
  afterEach(() => h.close());

  it('records what it would do and makes no call', async () => {
    const enforcer = await h.startEnforcer();
    service.raise(SITE, { durationSeconds: 600, reason: 'test attack', actor: 'admin:test' });
    await h.settle(enforcer);
    assert.deepEqual(rowsOf().map((r) => r.state), ['dry_run', 'dry_run']);
    service.lower(SITE, 'admin:test');
    await h.settle(enforcer);
    assert.deepEqual(rowsOf().map((r) => r.state), ['removed', 'removed']);
    const ops = h.db.prepare('SELECT operation, outcome FROM cloudflare_actions WHERE ip_key = ? ORDER BY id').all(`shield:${SITE}`) as Array<{ operation: string; outcome: string }>;
    assert.deepEqual(ops.map((o) => o.operation), ['shield_add_rule', 'shield_add_rule', 'shield_delete_rule', 'shield_delete_rule']);
    assert.ok(ops.every((o) => o.outcome === 'dry_run'));
    assert.equal(h.fake.callCount({}), 0);
  });
});
