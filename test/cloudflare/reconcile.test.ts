// The reconciler: Cloudflare brought back in line with the bans table after manual
// edits and downtime, touching only rules that carry our tag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, taggedRules } from './support.ts';

const repairs = (h: { db: import('../../server/store/db.ts').Db }) =>
  (h.db.prepare("SELECT ip_key, detail FROM audit_log WHERE actor = 'system' AND action = 'reconcile_repair' ORDER BY id").all() as Array<{ ip_key: string; detail: string }>)
    .map((r) => `${r.ip_key} ${(JSON.parse(r.detail) as { repair: string }).repair}`);

test('a rule deleted by hand in the dashboard is re-created while the ban is active', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    h.ban('203.0.113.10');
    await h.settle(enforcer);
    await enforcer.reconcile(); // the start-up run, settled

    assert.equal(h.fake.deleteAccessRuleByValue('203.0.113.10'), true);
    assert.equal(h.fake.isBlocked('203.0.113.10'), false);
    const report = await enforcer.reconcile();
    assert.equal(report.missingReapplied, 1);
    await h.settle(enforcer);

    assert.equal(h.fake.isBlocked('203.0.113.10'), true);
    assert.equal(taggedRules(h.fake).length, 1);
    assert.deepEqual(repairs(h), ['203.0.113.10 missing_reapplied']);
    assert.equal(enforcer.status().driftRepaired, 1);
    assert.equal(enforcer.enforcementStateOf('203.0.113.10'), 'applied');
  } finally {
    await h.close();
  }
});

test('a rule deleted by hand is re-created when the ban is next extended (PATCH answers 404)', async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    const banId = h.ban('203.0.113.11');
    await h.settle(enforcer);
    h.fake.deleteAccessRuleByValue('203.0.113.11');
    h.extend(banId, 7200);
    await h.settle(enforcer);
    assert.equal(h.fake.isBlocked('203.0.113.11'), true);
  } finally {
    await h.close();
  }
});

test('tagged rules whose ban ended while we were down are removed; untagged rules are left alone', async () => {
  const h = await createHarness();
  try {
    const past = new Date(Date.now() - 60_000).toISOString();
    // Left over from an earlier run whose database was lost, and one a person made.
    const orphan = h.fake.addForeignAccessRule({ scope: 'account', mode: 'block', target: 'ip', value: '198.51.100.5', notes: `edgejail:198.51.100.5 jail=wp-login until=${past}` });
    const manual = h.fake.addForeignAccessRule({ scope: 'account', mode: 'block', target: 'ip', value: '198.51.100.6', notes: 'office scanner, keep' });
    const unnoted = h.fake.addForeignAccessRule({ scope: 'account', mode: 'block', target: 'ip', value: '198.51.100.7' });
    // A ban that is active: its rule (tagged, unknown id) must be adopted, not removed.
    h.ban('198.51.100.8');
    const adopted = h.fake.addForeignAccessRule({ scope: 'account', mode: 'block', target: 'ip', value: '198.51.100.8', notes: `edgejail:198.51.100.8 jail=wp-login until=${past}` });
    h.db.prepare('DELETE FROM enforcement_outbox').run(); // as if the outbox row was handled before a crash lost our row

    const enforcer = await h.startEnforcer();
    const report = await enforcer.reconcile();
    await h.settle(enforcer);

    assert.equal(report.orphansRemoved, 1);
    assert.equal(report.idsRepaired, 1);
    const left = h.fake.accessRules('account').map((r) => r.id).sort();
    assert.deepEqual(left, [manual.id, unnoted.id, adopted.id].sort());
    assert.ok(!left.includes(orphan.id));
    const row = h.db.prepare('SELECT state, cloudflare_id FROM cloudflare_enforcement WHERE ip_key = ?').get('198.51.100.8');
    assert.deepEqual(row, { state: 'active', cloudflare_id: adopted.id });
    // The adopted rule's notes were brought up to date by the worker.
    const notes = h.fake.accessRules('account').find((r) => r.id === adopted.id)!.notes;
    assert.ok(!notes.endsWith(past));
    assert.deepEqual(repairs(h).sort(), ['198.51.100.5 orphan_removed', '198.51.100.8 id_repaired']);
  } finally {
    await h.close();
  }
});

test('reconcile reads every page of rules', async () => {
  const h = await createHarness({ config: { page_size: 5 } });
  try {
    const enforcer = await h.startEnforcer();
    const bans = Array.from({ length: 23 }, (_, i) => h.ban(`192.0.2.${100 + i}`));
    await h.settle(enforcer);
    await enforcer.reconcile();
    // Lift everything with the enforcer down, then lose the local rows: only reading every page finds them all.
    await enforcer.stop();
    bans.forEach((id) => h.lift(id));
    h.db.prepare('DELETE FROM enforcement_outbox').run();
    h.db.prepare('DELETE FROM cloudflare_enforcement').run();
    const next = await h.startEnforcer();
    const report = await next.reconcile();
    assert.equal(report.seen, 23);
    assert.equal(report.orphansRemoved, 23);
    assert.equal(h.fake.accessRules('account').length, 0);
  } finally {
    await h.close();
  }
});

test('a foreign rule that disappears while it covered a ban is replaced by ours', async () => {
  const h = await createHarness();
  try {
    h.fake.addForeignAccessRule({ scope: 'account', mode: 'block', target: 'ip', value: '203.0.113.12', notes: 'manual' });
    const enforcer = await h.startEnforcer();
    h.ban('203.0.113.12');
    await h.settle(enforcer);
    assert.equal(enforcer.enforcementStateOf('203.0.113.12'), 'foreign');
    h.fake.deleteAccessRuleByValue('203.0.113.12');
    const report = await enforcer.reconcile();
    assert.equal(report.foreignGone, 1);
    await h.settle(enforcer);
    assert.equal(taggedRules(h.fake).length, 1);
    assert.equal(enforcer.enforcementStateOf('203.0.113.12'), 'applied');
  } finally {
    await h.close();
  }
});
