// The fake's WAF custom rules, one rule at a time, driven through the real `cloudflare` SDK:
// what the login shield needs (create the entrypoint only if absent, add / edit / delete one
// rule) and the refusals a careless client would meet at Cloudflare.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startFakeCloudflare, type FakeCloudflare } from './server.ts';
import { expressionProblem } from './rulesets.ts';

let fake: FakeCloudflare;
let cf: Cloudflare;

before(async () => {
  fake = await startFakeCloudflare({ maxCustomRules: 5 });
  cf = new Cloudflare({ apiToken: fake.token, baseURL: fake.baseURL, maxRetries: 0, timeout: 2000 });
});
after(() => fake.close());
beforeEach(() => fake.reset());

const PHASE = 'http_request_firewall_custom';
type Rule = { id: string; ref: string; action: string; expression: string; description: string; enabled: boolean; version: string };
type RulesetResult = { id: string; kind: string; phase: string; version: string; rules: Rule[] };
const LOGIN = '(http.host eq "shop.example.com" and http.request.method eq "POST" and http.request.uri.path eq "/wp-login.php")';

function rejectsWith(status: number, code: number | null, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof Cloudflare.APIError, String(err));
    assert.equal(err.status, status);
    if (code !== null) assert.equal(err.errors[0]?.code, code);
    assert.match(err.errors[0]?.message ?? '', message);
    return true;
  };
}

async function createEntrypoint(rules: Array<Record<string, unknown>> = []) {
  return (await cf.rulesets.create({ zone_id: fake.zoneId, name: 'default', kind: 'zone', phase: PHASE, rules } as never)) as RulesetResult;
}

describe('creating the entrypoint', () => {
  it('POST /rulesets with kind zone creates the phase entrypoint, with its rules', async () => {
    const created = await createEntrypoint([{ action: 'managed_challenge', expression: LOGIN, description: 'edgejail:shield' }]);
    assert.equal(created.kind, 'zone');
    assert.equal(created.phase, PHASE);
    assert.equal(created.rules[0]!.ref, created.rules[0]!.id, "a rule's ref defaults to its id");
    const entry = (await cf.rulesets.phases.get(PHASE, { zone_id: fake.zoneId })) as RulesetResult;
    assert.equal(entry.id, created.id);
    assert.deepEqual(fake.customRules().map((r) => r.description), ['edgejail:shield']);
  });

  it('refuses a second entrypoint for the phase (400, 20217, pointer /kind) and leaves the first untouched', async () => {
    const foreign = fake.addForeignCustomRule({ action: 'block', expression: 'ip.src.country eq "XX"', description: 'owner rule' });
    await assert.rejects(createEntrypoint([{ action: 'block', expression: 'true' }]), (err: unknown) => {
      rejectsWith(400, 20217, /'zone' is not a valid value for kind because exceeded maximum number of zone rulesets for phase http_request_firewall_custom/)(err);
      assert.deepEqual((err as { errors: Array<{ source?: unknown }> }).errors[0]!.source, { pointer: '/kind' });
      return true;
    });
    assert.deepEqual(fake.customRules().map((r) => r.id), [foreign.id]);
  });

  it('refuses kinds a zone cannot create, and a missing name or phase', async () => {
    for (const [body, message] of [
      [{ name: 'x', kind: 'root', phase: PHASE }, /'root' is not a valid value for kind/],
      [{ name: 'x', kind: 'managed', phase: PHASE }, /'managed' is not a valid value for kind/],
      [{ kind: 'zone', phase: PHASE }, /name is required/],
      [{ name: 'x', kind: 'zone' }, /phase is required/],
      [{ name: 'x', kind: 'zone', phase: 'http_request_nowhere' }, /unknown ruleset phase/],
    ] as const) {
      await assert.rejects(cf.rulesets.create({ zone_id: fake.zoneId, ...body } as never), rejectsWith(400, null, message), JSON.stringify(body));
    }
    await assert.rejects(cf.rulesets.phases.get(PHASE, { zone_id: fake.zoneId }), Cloudflare.NotFoundError, 'nothing was created');
  });

  it('dry_run validates and answers result null without creating anything', async () => {
    const res = await fetch(`${fake.baseURL}/zones/${fake.zoneId}/rulesets?dry_run=true`, {
      method: 'POST', headers: { authorization: `Bearer ${fake.token}` }, body: JSON.stringify({ name: 'default', kind: 'zone', phase: PHASE }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { result: unknown }).result, null);
    await assert.rejects(cf.rulesets.phases.get(PHASE, { zone_id: fake.zoneId }), Cloudflare.NotFoundError);
  });
});

describe('one rule at a time', () => {
  it('adds a rule at the end (or at position.index / before / after) without touching the others', async () => {
    const foreign = fake.addForeignCustomRule({ action: 'block', expression: 'ip.src eq 192.0.2.1', description: 'owner rule' });
    const entry = (await cf.rulesets.phases.get(PHASE, { zone_id: fake.zoneId })) as RulesetResult;
    const added = (await cf.rulesets.rules.create(entry.id, { zone_id: fake.zoneId, action: 'managed_challenge', expression: LOGIN, description: 'ours' })) as RulesetResult;
    assert.deepEqual(added.rules.map((r) => r.description), ['owner rule', 'ours']);
    assert.deepEqual(added.rules[0], { ...foreign, version: foreign.version }, 'the foreign rule is unchanged');
    assert.equal(Number(added.version), Number(entry.version) + 1);
    const first = (await cf.rulesets.rules.create(entry.id, { zone_id: fake.zoneId, action: 'log', expression: 'true', description: 'top', position: { index: 1 } })) as RulesetResult;
    assert.deepEqual(first.rules.map((r) => r.description), ['top', 'owner rule', 'ours']);
    const before = (await cf.rulesets.rules.create(entry.id, { zone_id: fake.zoneId, action: 'log', expression: 'true', description: 'before ours', position: { before: added.rules[1]!.id } })) as RulesetResult;
    assert.deepEqual(before.rules.map((r) => r.description), ['top', 'owner rule', 'before ours', 'ours']);
    await assert.rejects(
      cf.rulesets.rules.create(entry.id, { zone_id: fake.zoneId, action: 'log', expression: 'true', position: { after: 'f'.repeat(32) } }),
      rejectsWith(400, null, /could not find rule f+ to place the rule after/),
    );
  });

  it('edit replaces the rule definition (id and ref kept, version bumped); a position-only edit moves it', async () => {
    const rs = await createEntrypoint([
      { action: 'managed_challenge', expression: LOGIN, description: 'ours' },
      { action: 'block', expression: 'true', description: 'owner rule' },
    ]);
    const ours = rs.rules[0]!;
    const edited = (await cf.rulesets.rules.edit(ours.id, { zone_id: fake.zoneId, ruleset_id: rs.id, action: 'block', expression: LOGIN, enabled: false })) as RulesetResult;
    const after = edited.rules.find((r) => r.id === ours.id)!;
    assert.equal(after.action, 'block');
    assert.equal(after.enabled, false);
    assert.equal(after.description, '', 'fields left out of the new definition are not kept (Cloudflare: include every field you want)');
    assert.equal(after.ref, ours.ref);
    assert.equal(after.version, '2');
    assert.deepEqual(edited.rules.map((r) => r.id), [ours.id, rs.rules[1]!.id], 'an edit without position keeps the order');

    const moved = (await cf.rulesets.rules.edit(ours.id, { zone_id: fake.zoneId, ruleset_id: rs.id, position: { index: 2 } } as never)) as RulesetResult;
    assert.deepEqual(moved.rules.map((r) => r.id), [rs.rules[1]!.id, ours.id]);
    assert.equal(moved.rules[1]!.action, 'block', 'a move keeps the definition');

    await assert.rejects(
      cf.rulesets.rules.edit('f'.repeat(32), { zone_id: fake.zoneId, ruleset_id: rs.id, action: 'block', expression: 'true' }),
      rejectsWith(404, 10004, /could not find rule/),
    );
  });

  it('deletes exactly one rule; deleting it again is 404', async () => {
    const rs = await createEntrypoint([
      { action: 'managed_challenge', expression: LOGIN, description: 'ours' },
      { action: 'block', expression: 'true', description: 'owner rule' },
    ]);
    const left = (await cf.rulesets.rules.delete(rs.rules[0]!.id, { zone_id: fake.zoneId, ruleset_id: rs.id })) as RulesetResult;
    assert.deepEqual(left.rules.map((r) => r.description), ['owner rule']);
    await assert.rejects(cf.rulesets.rules.delete(rs.rules[0]!.id, { zone_id: fake.zoneId, ruleset_id: rs.id }), Cloudflare.NotFoundError);
    await assert.rejects(cf.rulesets.rules.delete(rs.rules[1]!.id, { zone_id: fake.zoneId, ruleset_id: 'f'.repeat(32) }), Cloudflare.NotFoundError);
  });

  it('a rule deleted by hand in the dashboard is gone from the entrypoint', async () => {
    const rs = await createEntrypoint([{ action: 'managed_challenge', expression: LOGIN, description: 'ours' }]);
    assert.equal(fake.deleteCustomRuleByHand(rs.rules[0]!.id), true);
    assert.equal(((await cf.rulesets.phases.get(PHASE, { zone_id: fake.zoneId })) as RulesetResult).rules.length, 0);
    assert.equal(fake.deleteCustomRuleByHand(rs.rules[0]!.id), false);
  });
});

describe('validation of a custom rule', () => {
  it('refuses actions a custom rule cannot take, bad expressions, and more rules than the plan allows', async () => {
    const rs = await createEntrypoint();
    const add = (rule: Record<string, unknown>) => cf.rulesets.rules.create(rs.id, { zone_id: fake.zoneId, ...rule } as never);
    await assert.rejects(add({ action: 'rewrite', expression: 'true' }), rejectsWith(400, null, /'rewrite' is not a valid value for action because it is not allowed in phase http_request_firewall_custom/));
    await assert.rejects(add({ action: 'ban', expression: 'true' }), rejectsWith(400, null, /rule action must be one of/));
    await assert.rejects(add({ action: 'block', expression: 'http.hots eq "x"' }), rejectsWith(400, null, /unknown identifier "http.hots"/));
    await assert.rejects(add({ action: 'block', expression: '(http.host eq "x"' }), rejectsWith(400, null, /missing \)/));
    await assert.rejects(add({ action: 'block', expression: 'http.host eq "x' }), rejectsWith(400, null, /unterminated string/));
    await assert.rejects(add({ action: 'block', expression: `http.host in {${'"a.example" '.repeat(400)}}` }), rejectsWith(400, null, /maximum is 4096/));
    await assert.rejects(add({ action: 'block', expression: 'true', enabled: 'yes' }), rejectsWith(400, null, /enabled must be a boolean/));
    for (let i = 0; i < 5; i++) await add({ action: 'block', expression: 'true', description: `rule ${i}` });
    await assert.rejects(add({ action: 'block', expression: 'true' }), rejectsWith(400, null, /exceeded maximum number of rules in the phase http_request_firewall_custom: 6 out of 5/));
    assert.equal(fake.customRules().length, 5);
  });

  it('accepts the expressions of the Rules language the shield and its owners write', () => {
    for (const expression of [
      LOGIN,
      '(http.request.method eq "POST" and http.request.uri.path in {"/wp-login.php" "/xmlrpc.php"})',
      'not ip.src in $edgejail_blocked',
      'lower(http.host) eq "shop.example.com" and http.request.uri.path matches r"^/wp-admin/"',
      'ip.src in {192.0.2.0/24 2001:db8::/32} or cf.threat_score gt 10',
    ]) assert.equal(expressionProblem(expression), null, expression);
  });
});
