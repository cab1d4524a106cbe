// The fake's custom IP lists, asynchronous bulk operations and the WAF custom rule that puts a
// list in force, driven through the real `cloudflare` SDK.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startFakeCloudflare, type FakeCloudflare } from './server.ts';

let fake: FakeCloudflare;
let cf: Cloudflare;

before(async () => {
  fake = await startFakeCloudflare({ bulkOperationMs: 20 });
  cf = new Cloudflare({ apiToken: fake.token, baseURL: fake.baseURL, maxRetries: 0, timeout: 2000 });
});
after(() => fake.close());
beforeEach(() => fake.reset());

const PHASE = 'http_request_firewall_custom';
/** The SDK types these results as `... | unknown`; this is the part the tests read. */
type RulesetResult = { id: string; phase: string; rules: Array<{ id: string }> };

async function settled(client: Cloudflare, accountId: string, operationId: string) {
  for (let i = 0; i < 500; i++) {
    const op = await client.rules.lists.bulkOperations.get(operationId, { account_id: accountId });
    if (op.status === 'completed' || op.status === 'failed') return op;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`bulk operation ${operationId} never finished`);
}

async function newList(name = 'edgejail_bans') {
  return cf.rules.lists.create({ account_id: fake.accountId, kind: 'ip', name, description: 'EdgeJail bans' });
}

async function addItems(listId: string, items: Array<{ ip: string; comment?: string }>) {
  const { operation_id } = await cf.rules.lists.items.create(listId, { account_id: fake.accountId, body: items });
  return settled(cf, fake.accountId, operation_id);
}

async function allItems(listId: string, perPage?: number) {
  const out: Array<{ id: string; ip: string; comment?: string }> = [];
  const query = perPage === undefined ? { account_id: fake.accountId } : { account_id: fake.accountId, per_page: perPage };
  for await (const item of cf.rules.lists.items.list(listId, query)) out.push(item as { id: string; ip: string; comment?: string });
  return out;
}

describe('lists', () => {
  it('creates, gets, lists and deletes a list; names must match ^[a-z0-9_]+$ (max 50)', async () => {
    const list = await newList();
    assert.match(list.id, /^[0-9a-f]{32}$/);
    assert.equal(list.kind, 'ip');
    assert.equal(list.num_items, 0);
    assert.equal(list.num_referencing_filters, 0);
    assert.equal((await cf.rules.lists.get(list.id, { account_id: fake.accountId })).name, 'edgejail_bans');
    const names: string[] = [];
    for await (const l of cf.rules.lists.list({ account_id: fake.accountId })) names.push(l.name);
    assert.deepEqual(names, ['edgejail_bans']);

    for (const name of ['EdgeJail', 'edge-jail', 'x'.repeat(51), '']) {
      await assert.rejects(newList(name), Cloudflare.BadRequestError, name);
    }
    await assert.rejects(newList(), Cloudflare.BadRequestError, 'duplicate name');

    assert.deepEqual(await cf.rules.lists.delete(list.id, { account_id: fake.accountId }), { id: list.id });
    await assert.rejects(cf.rules.lists.get(list.id, { account_id: fake.accountId }), Cloudflare.NotFoundError);
  });
});

describe('list items and bulk operations', () => {
  it('applies an item write only when its bulk operation completes', async () => {
    const slow = await startFakeCloudflare({ bulkOperationMs: 600_000 });
    try {
      const client = new Cloudflare({ apiToken: slow.token, baseURL: slow.baseURL, maxRetries: 0, timeout: 2000 });
      const list = await client.rules.lists.create({ account_id: slow.accountId, kind: 'ip', name: 'bans' });
      const { operation_id } = await client.rules.lists.items.create(list.id, { account_id: slow.accountId, body: [{ ip: '192.0.2.1' }] });
      assert.match(operation_id, /^[0-9a-f]{32}$/);
      const op = await client.rules.lists.bulkOperations.get(operation_id, { account_id: slow.accountId });
      assert.equal(op.status, 'pending');
      assert.deepEqual(slow.listItems('bans'), []);
      // Only one pending bulk operation per account: a second write is refused, not queued.
      await assert.rejects(
        client.rules.lists.items.create(list.id, { account_id: slow.accountId, body: [{ ip: '192.0.2.2' }] }),
        (err: unknown) => err instanceof Cloudflare.BadRequestError && /only one pending bulk operation/.test(err.message),
      );
      await assert.rejects(client.rules.lists.bulkOperations.get('0'.repeat(32), { account_id: slow.accountId }), Cloudflare.NotFoundError);
    } finally {
      await slow.close();
    }
  });

  it('appends, replaces an existing entry in place, replaces all, and deletes by id', async () => {
    const list = await newList();
    const op = await addItems(list.id, [{ ip: '192.0.2.1', comment: 'first' }, { ip: '198.51.100.0/24' }]);
    assert.equal(op.status, 'completed');
    assert.ok('completed' in op && !Number.isNaN(Date.parse(op.completed)));
    let items = await allItems(list.id);
    assert.deepEqual(items.map((i) => i.ip).sort(), ['192.0.2.1', '198.51.100.0/24']);
    const first = items.find((i) => i.ip === '192.0.2.1')!;

    await addItems(list.id, [{ ip: '192.0.2.1', comment: 'again' }]);
    items = await allItems(list.id);
    assert.equal(items.length, 2, 'no duplicate entry');
    const again = items.find((i) => i.ip === '192.0.2.1')!;
    assert.equal(again.id, first.id);
    assert.equal(again.comment, 'again');
    assert.equal((await cf.rules.lists.get(list.id, { account_id: fake.accountId })).num_items, 2);

    const { operation_id } = await cf.rules.lists.items.update(list.id, { account_id: fake.accountId, body: [{ ip: '203.0.113.9' }] });
    await settled(cf, fake.accountId, operation_id);
    items = await allItems(list.id);
    assert.deepEqual(items.map((i) => i.ip), ['203.0.113.9']);

    const del = await cf.rules.lists.items.delete(list.id, { account_id: fake.accountId, items: [{ id: items[0]!.id }] });
    await settled(cf, fake.accountId, del.operation_id);
    assert.deepEqual(await allItems(list.id), []);
  });

  it('pages items by cursor: 1,200 items at per_page 500 come back in three pages', async () => {
    const list = await newList();
    const body = Array.from({ length: 1200 }, (_, i) => ({ ip: `10.${i >> 8}.${i & 255}.1` }));
    await addItems(list.id, body);
    const before = fake.callCount({ method: 'GET', pathIncludes: '/items' });
    const items = await allItems(list.id, 500);
    assert.equal(items.length, 1200);
    assert.equal(new Set(items.map((i) => i.id)).size, 1200);
    assert.equal(fake.callCount({ method: 'GET', pathIncludes: '/items' }) - before, 3);
    const page = await cf.rules.lists.items.list(list.id, { account_id: fake.accountId, per_page: 500 });
    assert.ok(page.result_info.cursors?.after);
    await assert.rejects(cf.rules.lists.items.list(list.id, { account_id: fake.accountId, per_page: 501 }), Cloudflare.BadRequestError);
  });

  it('keeps IPv6 entries as prefixes of at most /64 and refuses what is not an IP list item', async () => {
    const list = await newList();
    await addItems(list.id, [{ ip: '2001:DB8:1:2:3:4:5:6' }, { ip: '2001:db8:ff00::/40' }]);
    assert.deepEqual(fake.listItems('edgejail_bans').map((i) => i.ip).sort(), ['2001:db8:1:2::/64', '2001:db8:ff00::/40']);
    for (const ip of ['2001:db8::/65', '10.0.0.0/7', 'not-an-ip', '192.0.2.256']) {
      await assert.rejects(
        cf.rules.lists.items.create(list.id, { account_id: fake.accountId, body: [{ ip }] }),
        (err: unknown) => err instanceof Cloudflare.BadRequestError && err.message.includes(ip),
        ip,
      );
    }
  });

  it('fails a bulk operation that would pass the account-wide item limit, applying nothing', async () => {
    const small = await startFakeCloudflare({ maxListItems: 3, bulkOperationMs: 5 });
    try {
      const client = new Cloudflare({ apiToken: small.token, baseURL: small.baseURL, maxRetries: 0, timeout: 2000 });
      const a = await client.rules.lists.create({ account_id: small.accountId, kind: 'ip', name: 'a' });
      const b = await client.rules.lists.create({ account_id: small.accountId, kind: 'ip', name: 'b' });
      const write = async (listId: string, ips: string[]) => {
        const { operation_id } = await client.rules.lists.items.create(listId, { account_id: small.accountId, body: ips.map((ip) => ({ ip })) });
        return settled(client, small.accountId, operation_id);
      };
      assert.equal((await write(a.id, ['192.0.2.1', '192.0.2.2'])).status, 'completed');
      const failed = await write(b.id, ['192.0.2.3', '192.0.2.4']);
      assert.equal(failed.status, 'failed');
      assert.ok('error' in failed && failed.error === 'This list is at the maximum number of items');
      assert.deepEqual(small.listItems('b'), []);
    } finally {
      await small.close();
    }
  });

  it('bulk_operation_failed: the next bulk operation fails with an error and applies nothing', async () => {
    const list = await newList();
    fake.injectFault({ kind: 'bulk_operation_failed' });
    const failed = await addItems(list.id, [{ ip: '192.0.2.7' }]);
    assert.equal(failed.status, 'failed');
    assert.ok('error' in failed && failed.error.length > 0);
    assert.deepEqual(fake.listItems('edgejail_bans'), []);
    assert.equal((await addItems(list.id, [{ ip: '192.0.2.7' }])).status, 'completed');
    assert.equal(fake.listItems('edgejail_bans').length, 1);
  });
});

describe('WAF custom rule `ip.src in $list`', () => {
  it('answers 404 / 10003 while the phase has no entrypoint ruleset', async () => {
    await assert.rejects(cf.rulesets.phases.get(PHASE, { zone_id: fake.zoneId }), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.NotFoundError);
      assert.equal(err.errors[0]?.code, 10003);
      assert.match(err.errors[0]?.message ?? '', /could not find entrypoint ruleset/);
      return true;
    });
  });

  it('blocks the list’s addresses only once an enabled block rule references the list', async () => {
    const list = await newList();
    await addItems(list.id, [{ ip: '192.0.2.10' }, { ip: '2001:db8:5::/48' }]);
    assert.equal(fake.isBlocked('192.0.2.10'), false, 'a list alone blocks nothing');

    const ruleset = (await cf.rulesets.phases.update(PHASE, {
      zone_id: fake.zoneId,
      rules: [{ action: 'block', expression: 'ip.src in $edgejail_bans', description: 'EdgeJail', enabled: false }],
    })) as RulesetResult;
    assert.equal(ruleset.phase, PHASE);
    assert.equal(fake.isBlocked('192.0.2.10'), false, 'a disabled rule blocks nothing');

    const rule = ruleset.rules[0]!;
    await cf.rulesets.rules.edit(rule.id, { zone_id: fake.zoneId, ruleset_id: ruleset.id, action: 'block', expression: 'ip.src in $edgejail_bans', enabled: true });
    assert.equal(fake.isBlocked('192.0.2.10'), true);
    assert.equal(fake.isBlocked('2001:db8:5:77::1'), true);
    assert.equal(fake.isBlocked('192.0.2.11'), false);
    assert.equal((await (await fetch(`${fake.url}/__fake/blocked?ip=192.0.2.10`)).json() as { blocked: boolean }).blocked, true);
    assert.equal((await cf.rules.lists.get(list.id, { account_id: fake.accountId })).num_referencing_filters, 1);
    await assert.rejects(cf.rules.lists.delete(list.id, { account_id: fake.accountId }), Cloudflare.BadRequestError, 'a list in use cannot be deleted');

    const fetched = (await cf.rulesets.phases.get(PHASE, { zone_id: fake.zoneId })) as RulesetResult;
    assert.equal(fetched.id, ruleset.id);
    assert.equal(fetched.rules.length, 1);
  });

  it('adds a rule to an existing ruleset and refuses a rule naming a list that does not exist', async () => {
    await newList();
    const ruleset = (await cf.rulesets.phases.update(PHASE, { zone_id: fake.zoneId, rules: [] })) as RulesetResult;
    const withRule = (await cf.rulesets.rules.create(ruleset.id, { zone_id: fake.zoneId, action: 'block', expression: '(ip.src in $edgejail_bans)' })) as RulesetResult;
    assert.equal(withRule.rules.length, 1);
    await assert.rejects(
      cf.rulesets.rules.create(ruleset.id, { zone_id: fake.zoneId, action: 'block', expression: 'ip.src in $nope' }),
      Cloudflare.BadRequestError,
    );
    const { operation_id } = await cf.rules.lists.items.create((await cf.rules.lists.list({ account_id: fake.accountId })).result[0]!.id, {
      account_id: fake.accountId, body: [{ ip: '203.0.113.0/24' }],
    });
    await settled(cf, fake.accountId, operation_id);
    assert.equal(fake.isBlocked('203.0.113.200'), true);
  });
});
