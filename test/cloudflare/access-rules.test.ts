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
