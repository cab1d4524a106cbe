// IP Access Rules enforcement through the real SDK against the fake Cloudflare API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, taggedRules, actionsOf } from './support.ts';

test('a ban puts one tagged block rule at Cloudflare, and lifting it at expiry removes the rule', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    const banId = h.ban('203.0.113.7');
    await h.settle(enforcer);

    assert.equal(h.fake.isBlocked('203.0.113.7'), true);
    const [rule, ...others] = taggedRules(h.fake);
    assert.equal(others.length, 0);
    assert.equal(rule!.mode, 'block');
    assert.deepEqual(rule!.configuration, { target: 'ip', value: '203.0.113.7' });
    assert.match(rule!.notes, /^edgejail:203\.0\.113\.7 jail=wp-login until=\d{4}-\d\d-\d\dT/);
    assert.equal(enforcer.enforcementStateOf('203.0.113.7'), 'applied');
    const row = h.db.prepare('SELECT * FROM cloudflare_enforcement WHERE ip_key = ?').get('203.0.113.7') as Record<string, unknown>;
    assert.equal(row.state, 'active');
    assert.equal(row.cloudflare_id, rule!.id);

    h.lift(banId);
    await h.settle(enforcer);
    assert.equal(h.fake.isBlocked('203.0.113.7'), false);
    assert.equal(taggedRules(h.fake).length, 0);
    assert.equal(enforcer.enforcementStateOf('203.0.113.7'), null);
    assert.deepEqual(
      actionsOf(h.db, '203.0.113.7').map((a) => `${a.operation} ${a.outcome} ${a.http_status}`),
      ['create_rule ok 200', 'delete_rule ok 200'],
    );
  } finally {
    await h.close();
  }
});

test('an unban decided while the service was down is carried out by the next enforcer on the same database', async () => {
  const h = await createHarness();
  try {
    const first = await h.startEnforcer();
    const gone = h.ban('198.51.100.20');
    h.ban('198.51.100.21');
    await h.settle(first);
    const ruleBefore = taggedRules(h.fake).find((r) => r.configuration.value === '198.51.100.21')!;
    await first.stop();

    h.lift(gone); // the core lifts at expiry while no enforcer runs
    const callsBefore = h.fake.calls.length;
    const second = await h.startEnforcer();
    await h.settle(second);
    await second.reconcile();

    assert.equal(h.fake.isBlocked('198.51.100.20'), false);
    assert.equal(h.fake.isBlocked('198.51.100.21'), true);
    // The live ban was neither removed nor re-added: same rule, and no write touched it.
    const ruleAfter = taggedRules(h.fake).find((r) => r.configuration.value === '198.51.100.21')!;
    assert.equal(ruleAfter.id, ruleBefore.id);
    const writes = h.fake.calls.slice(callsBefore).filter((c) => c.method !== 'GET');
    assert.deepEqual(writes.map((c) => c.method), ['DELETE']);
  } finally {
    await h.close();
  }
});

test('two jails banning one IP share one rule, which stays until the last ban ends', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    const short = h.ban('192.0.2.50', { jail: 'wp-login', seconds: 600 });
    await h.settle(enforcer);
    const long = h.ban('192.0.2.50', { jail: 'xmlrpc', seconds: 7200 });
    await h.settle(enforcer);

    let rules = taggedRules(h.fake);
    assert.equal(rules.length, 1);
    assert.match(rules[0]!.notes, / jail=wp-login,xmlrpc until=/);
    const longUntil = (h.db.prepare('SELECT expires_at FROM bans WHERE id = ?').get(long) as { expires_at: string }).expires_at;
    assert.ok(rules[0]!.notes.endsWith(`until=${longUntil}`), 'notes carry the latest expiry');

    h.lift(short);
    await h.settle(enforcer);
    rules = taggedRules(h.fake);
    assert.equal(rules.length, 1, 'still blocked by the xmlrpc ban');
    assert.match(rules[0]!.notes, / jail=xmlrpc until=/);
    assert.equal(h.fake.isBlocked('192.0.2.50'), true);

    h.lift(long);
    await h.settle(enforcer);
    assert.equal(taggedRules(h.fake).length, 0);
    assert.equal(h.fake.isBlocked('192.0.2.50'), false);
  } finally {
    await h.close();
  }
});

test('an extended ban updates the rule notes in place', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    const banId = h.ban('192.0.2.60', { seconds: 600 });
    await h.settle(enforcer);
    const before = taggedRules(h.fake)[0]!;
    h.extend(banId, 86_400);
    await h.settle(enforcer);
    const after = taggedRules(h.fake)[0]!;
    assert.equal(after.id, before.id);
    assert.notEqual(after.notes, before.notes);
    const expires = (h.db.prepare('SELECT expires_at FROM bans WHERE id = ?').get(banId) as { expires_at: string }).expires_at;
    assert.ok(after.notes.endsWith(`until=${expires}`));
  } finally {
    await h.close();
  }
});

test("someone else's rule for the same IP covers the ban and is never deleted", async () => {
  const h = await createHarness();
  try {
    const foreign = h.fake.addForeignAccessRule({ scope: 'account', mode: 'challenge', target: 'ip', value: '203.0.113.99', notes: 'added by the ops team' });
    const enforcer = await h.startEnforcer();
    const banId = h.ban('203.0.113.99');
    await h.settle(enforcer);
    assert.equal(enforcer.enforcementStateOf('203.0.113.99'), 'foreign');
    assert.equal(h.fake.accessRules('account').length, 1);

    h.lift(banId);
    await h.settle(enforcer);
    await enforcer.reconcile();
    const [still] = h.fake.accessRules('account');
    assert.deepEqual(still, foreign, 'the foreign rule is untouched');
    assert.equal(h.fake.callCount({ method: 'DELETE' }), 0);
    assert.equal(h.fake.callCount({ method: 'PATCH' }), 0);
    const audit = h.db.prepare("SELECT detail FROM audit_log WHERE action = 'cloudflare_foreign_rule' AND ip_key = ?").get('203.0.113.99') as { detail: string };
    assert.match(audit.detail, new RegExp(foreign.id));
  } finally {
    await h.close();
  }
});

test('zone scope places ip6 and ip_range rules for IPv6 addresses and prefixes, and removes them', async () => {
  const h = await createHarness();
  try {
    const config = { ...h.config, account_id: undefined, zone_id: h.fake.zoneId, scope: 'zone' as const };
    const enforcer = await h.startEnforcer(config);
    const single = h.ban('2001:db8::1');
    const prefix = h.ban('2001:db8:1:2::/64');
    const range4 = h.ban('198.51.100.0/24');
    await h.settle(enforcer);

    const rules = taggedRules(h.fake, 'zone');
    assert.equal(h.fake.accessRules('account').length, 0);
    assert.deepEqual(
      rules.map((r) => `${r.configuration.target} ${r.configuration.value}`).sort(),
      ['ip6 2001:db8::1', 'ip_range 198.51.100.0/24', 'ip_range 2001:db8:1:2::/64'],
    );
    assert.equal(h.fake.isBlocked('2001:db8:1:2::abcd'), true);
    assert.equal(h.fake.isBlocked('198.51.100.77'), true);

    for (const id of [single, prefix, range4]) h.lift(id);
    await h.settle(enforcer);
    assert.equal(h.fake.accessRules('zone').length, 0);
    assert.equal(h.fake.isBlocked('2001:db8::1'), false);
  } finally {
    await h.close();
  }
});

test('an ip_key Cloudflare cannot take is recorded as failed and not retried forever', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    h.ban('2001:db8:5::/56');
    await h.settle(enforcer);
    assert.equal(enforcer.enforcementStateOf('2001:db8:5::/56'), 'failed');
    assert.equal(h.fake.calls.filter((c) => c.method === 'POST').length, 0);
    assert.match(h.logger.lines.join('\n'), /cannot be enforced/);
  } finally {
    await h.close();
  }
});

test('challenge modes are honoured and the token never reaches logs or the action table', async () => {
  const h = await createHarness({ config: { mode: 'managed_challenge' } });
  try {
    const enforcer = await h.startEnforcer();
    const banId = h.ban('192.0.2.77');
    await h.settle(enforcer);
    assert.equal(taggedRules(h.fake)[0]!.mode, 'managed_challenge');
    h.lift(banId);
    await h.settle(enforcer);
    await enforcer.stop();
    const dump = JSON.stringify(h.db.prepare('SELECT * FROM cloudflare_actions').all()) + JSON.stringify(h.db.prepare('SELECT * FROM cloudflare_enforcement').all());
    assert.ok(!dump.includes(h.fake.token));
    assert.ok(!h.logger.lines.join('\n').includes(h.fake.token));
    assert.ok(!JSON.stringify(enforcer.status()).includes(h.fake.token));
  } finally {
    await h.close();
  }
});

test('a ban that returns while its unban is still failing keeps the same rule', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    const first = h.ban('192.0.2.120');
    await h.settle(enforcer);
    const rule = taggedRules(h.fake)[0]!;
    h.fake.injectFault({ kind: 'server_error', status: 503, match: { method: 'DELETE' }, times: 1 });
    h.lift(first);
    await enforcer.drain(); // the delete failed and waits on backoff
    assert.equal(enforcer.enforcementStateOf('192.0.2.120'), 'removing');
    h.ban('192.0.2.120', { jail: 'recidive' });
    await h.settle(enforcer);
    const [after, ...others] = taggedRules(h.fake);
    assert.equal(others.length, 0);
    assert.equal(after!.id, rule.id, 'the rule was updated, not replaced');
    assert.match(after!.notes, /jail=recidive/);
    assert.equal(h.fake.callCount({ method: 'POST' }), 1);
  } finally {
    await h.close();
  }
});
