// The account IP list backend: many ip_keys per bulk call, asynchronous operations
// polled to the end, one pending operation at a time, failures retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionsOf, banMany, createHarness, liftMany, listHarness, type Harness } from './support.ts';
import { runCloudflareCommand } from '../../server/cloudflare/commands.ts';

const LIST = 'edgejail_blocked';

const botnet = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

test('2,000 IPs are banned and unbanned with a handful of API calls', async () => {
  const h = await listHarness();
  try {
    const enforcer = await h.startEnforcer();
    await enforcer.reconcile();
    const before = h.fake.calls.length;
    const ips = botnet(2_000);
    const bans = banMany(h, ips);
    await h.settle(enforcer);

    const banCalls = h.fake.calls.length - before;
    assert.equal(h.fake.listItems(LIST).length, 2_000);
    assert.ok(ips.every((ip) => h.fake.isBlocked(ip)), 'every IP blocked by the custom rule');
    assert.equal(h.fake.callCount({ method: 'POST', pathIncludes: '/items' }), 2, 'two bulk adds of 1,000');
    assert.ok(banCalls <= 15, `2,000 bans took ${banCalls} API calls`);
    const active = h.db.prepare("SELECT count(*) AS n FROM cloudflare_enforcement WHERE state = 'active' AND cloudflare_id IS NOT NULL").get() as { n: number };
    assert.equal(active.n, 2_000);

    const mid = h.fake.calls.length;
    liftMany(h, bans);
    await h.settle(enforcer);
    const unbanCalls = h.fake.calls.length - mid;
    assert.equal(h.fake.listItems(LIST).length, 0);
    assert.ok(ips.every((ip) => !h.fake.isBlocked(ip)));
    assert.ok(unbanCalls <= 8, `2,000 unbans took ${unbanCalls} API calls`);
    // The bulk calls are on every IP's record.
    const ops = actionsOf(h.db, ips[1234]!).map((a) => a.operation);
    assert.ok(ops.includes('add_list_items') && ops.includes('delete_list_items') && ops.includes('poll_bulk_operation'));
  } finally {
    await h.close();
  }
});

test('a failed bulk operation is retried until the items are in', async () => {
  const h = await listHarness();
  try {
    h.fake.injectFault({ kind: 'bulk_operation_failed', match: { method: 'POST', pathIncludes: '/items' }, times: 1 });
    const enforcer = await h.startEnforcer();
    const ips = botnet(25);
    const bans = banMany(h, ips);
    await h.settle(enforcer);
    assert.equal(h.fake.listItems(LIST).length, 25);
    assert.ok(h.fake.callCount({ method: 'POST', pathIncludes: '/items' }) >= 2, 'the bulk add was sent again');
    assert.equal(enforcer.enforcementStateOf(ips[0]!), 'applied');
    const failedOps = () =>
      h.db.prepare("SELECT count(*) AS n FROM cloudflare_actions WHERE operation = 'poll_bulk_operation' AND outcome = 'error' AND error LIKE '%failed%'").get() as { n: number };
    assert.equal(failedOps().n, 1, 'the failed operation is on record');

    h.fake.injectFault({ kind: 'bulk_operation_failed', match: { method: 'DELETE', pathIncludes: '/items' }, times: 1 });
    liftMany(h, bans);
    await h.settle(enforcer);
    assert.equal(h.fake.listItems(LIST).length, 0);
    assert.ok(h.fake.callCount({ method: 'DELETE', pathIncludes: '/items' }) >= 2, 'the bulk delete was sent again');
    assert.equal(failedOps().n, 2);
  } finally {
    await h.close();
  }
});

test('list unbans survive a restart, lost responses and 5xx, and IPv6 prefixes are list items too', async () => {
  const h = await listHarness();
  try {
    const first = await h.startEnforcer();
    const bans = banMany(h, ['203.0.113.1', '203.0.113.2', '2001:db8:7:7::/64']);
    await h.settle(first);
    assert.equal(h.fake.isBlocked('2001:db8:7:7::99'), true);
    await first.stop();

    liftMany(h, bans);
    h.fake.injectFault({ kind: 'drop_response', match: { method: 'DELETE', pathIncludes: '/items' }, times: 1 });
    h.fake.injectFault({ kind: 'server_error', status: 502, match: { pathIncludes: 'bulk_operations' }, times: 1 });
    const second = await h.startEnforcer();
    await h.settle(second);
    assert.equal(h.fake.listItems(LIST).length, 0);
    assert.equal(h.fake.isBlocked('203.0.113.1'), false);
  } finally {
    await h.close();
  }
});

test('list reconcile removes tagged leftovers, re-adds missing items and leaves untagged items alone', async () => {
  const h = await listHarness();
  try {
    const enforcer = await h.startEnforcer();
    banMany(h, ['198.51.100.1', '198.51.100.2']);
    await h.settle(enforcer);
    await enforcer.reconcile();

    // Someone empties the list by hand and adds their own entry, and a stale tagged item appears.
    const sdk = new (await import('cloudflare')).default({ apiToken: h.fake.token, baseURL: h.fake.baseURL, maxRetries: 0 });
    const list = (await sdk.rules.lists.list({ account_id: h.fake.accountId })).result.find((l) => l.name === LIST)!;
    const items = h.fake.listItems(LIST);
    await sdk.rules.lists.items.delete(list.id, { account_id: h.fake.accountId, items: items.filter((i) => i.ip === '198.51.100.1').map((i) => ({ id: i.id })) });
    await new Promise((r) => setTimeout(r, 50));
    await sdk.rules.lists.items.create(list.id, {
      account_id: h.fake.accountId,
      body: [{ ip: '192.0.2.200', comment: 'partner office' }, { ip: '192.0.2.201', comment: 'edgejail:192.0.2.201 jail=wp-login until=2020-01-01T00:00:00.000Z' }],
    });
    await new Promise((r) => setTimeout(r, 50));

    const report = await enforcer.reconcile();
    await h.settle(enforcer);
    assert.equal(report.missingReapplied, 1);
    assert.equal(report.orphansRemoved, 1);
    assert.deepEqual(h.fake.listItems(LIST).map((i) => i.ip).sort(), ['192.0.2.200', '198.51.100.1', '198.51.100.2']);
  } finally {
    await h.close();
  }
});

test("an address someone else put in the list covers the ban, keeps its comment and is never deleted", async () => {
  const h = await listHarness();
  try {
    const sdk = new (await import('cloudflare')).default({ apiToken: h.fake.token, baseURL: h.fake.baseURL, maxRetries: 0 });
    const list = (await sdk.rules.lists.list({ account_id: h.fake.accountId })).result.find((l) => l.name === LIST)!;
    await sdk.rules.lists.items.create(list.id, { account_id: h.fake.accountId, body: [{ ip: '192.0.2.210', comment: 'blocked by the security team' }] });
    await new Promise((r) => setTimeout(r, 50));

    const enforcer = await h.startEnforcer();
    await enforcer.reconcile(); // the start-up read learns what is in the list
    const [banId] = banMany(h, ['192.0.2.210']);
    await h.settle(enforcer);
    assert.equal(enforcer.enforcementStateOf('192.0.2.210'), 'foreign');
    assert.deepEqual(h.fake.listItems(LIST).map((i) => i.comment), ['blocked by the security team']);

    liftMany(h, [banId!]);
    await h.settle(enforcer);
    const report = await enforcer.reconcile();
    assert.equal(report.orphansRemoved, 0);
    assert.deepEqual(h.fake.listItems(LIST).map((i) => `${i.ip} ${i.comment}`), ['192.0.2.210 blocked by the security team']);
    assert.equal(h.fake.callCount({ method: 'DELETE', pathIncludes: '/items' }), 0);
  } finally {
    await h.close();
  }
});

test('the reconciler says when the WAF rule that makes list items block is missing, and when it is back', async () => {
  const h = await createHarness({ config: { backend: 'list' } });
  try {
    const config = { ...h.config, zone_id: h.fake.zoneId };
    const enforcer = await h.startEnforcer(config);
    banMany(h, ['198.51.100.40']);
    await h.settle(enforcer);
    const before = await enforcer.reconcile();
    assert.equal(before.blockRule?.state, 'missing', before.blockRule?.detail);
    assert.match(before.blockRule!.detail, /list items block nothing; run `edgejail cloudflare setup`/);
    assert.ok(h.logger.lines.some((l) => l.startsWith('warn') && l.includes('no enabled block rule')), 'a warning in the log');

    const lines: string[] = [];
    assert.equal(await runCloudflareCommand(['setup'], { db: h.db, config, out: (l) => lines.push(l) }), 0, lines.join('\n'));
    const after = await enforcer.reconcile();
    assert.equal(after.blockRule?.state, 'present', after.blockRule?.detail);

    // Without a zone id an account without the rule proves nothing: unknown, not missing.
    const accountOnly = await h.startEnforcer(h.config);
    const unknown = await accountOnly.reconcile();
    assert.equal(unknown.blockRule?.state, 'unknown');
    assert.match(unknown.blockRule!.detail, /CLOUDFLARE_ZONE_ID/);
  } finally {
    await h.close();
  }
});
