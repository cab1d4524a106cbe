// Without an API token nothing leaves the process: decisions and would-be calls are recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, actionsOf } from './support.ts';

test('dry-run records would-be calls and makes no API call at all', async () => {
  const h = await createHarness({ dryRun: true });
  try {
    assert.equal(h.config.api_token, undefined);
    const enforcer = await h.startEnforcer();
    const banId = h.ban('203.0.113.5');
    const v6 = h.ban('2001:db8:9::/64');
    await h.settle(enforcer);
    assert.equal(enforcer.enforcementStateOf('203.0.113.5'), 'dry_run');
    assert.equal(enforcer.status().mode, 'dry_run');

    h.lift(banId);
    h.lift(v6);
    await h.settle(enforcer);
    await enforcer.reconcile();
    assert.equal(enforcer.enforcementStateOf('203.0.113.5'), null);

    assert.equal(h.fake.calls.length, 0, 'zero requests reached the (fake) API');
    assert.equal(enforcer.status().apiCalls, 0);
    assert.deepEqual(
      actionsOf(h.db, '203.0.113.5').map((a) => `${a.operation} ${a.outcome}`),
      ['create_rule dry_run', 'delete_rule dry_run'],
    );
    const target = h.db.prepare("SELECT target FROM cloudflare_actions WHERE ip_key = ? AND operation = 'create_rule'").get('2001:db8:9::/64') as { target: string };
    assert.match(target.target, /^ip_range 2001:db8:9::\/64 in account scope mode=block notes="edgejail:2001:db8:9::\/64 jail=wp-login until=/);
  } finally {
    await h.close();
  }
});
