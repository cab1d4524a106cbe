// Capacity-aware placement: the list holds what it has room for, a bulk add refused for
// size is split instead of retried whole, the overflow goes to IP access rules within the
// API budget, what fits nowhere is held at the origin, and a freed slot goes to the best
// waiting ban. Real SDK against the fake, real SQLite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createHarness, taggedRules, type Harness } from './support.ts';
import { runCloudflareCommand } from '../../server/cloudflare/commands.ts';
import { createStore } from '../../server/store/store.ts';
import type { Enforcer } from '../../server/enforcement/worker.ts';

const LIST = 'edgejail_blocked';
const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

async function listHarness(options: { fake?: Record<string, unknown>; config?: Record<string, unknown> } = {}) {
  const h = await createHarness({ fake: options.fake, config: { backend: 'list', ...options.config } });
  const lines: string[] = [];
  const code = await runCloudflareCommand(['setup'], { db: h.db, config: { ...h.config, zone_id: h.fake.zoneId }, out: (l) => lines.push(l) });
  assert.equal(code, 0, lines.join('\n'));
  return h;
}

/** Bans in one transaction, as one botnet ingest batch; `seenMinutesAgo` writes an event per IP. */
function banMany(h: Harness, ips: string[], seenMinutesAgo?: (i: number) => number): number[] {
  const store = createStore(h.db);
  const at = new Date().toISOString();
  const until = new Date(Date.now() + 3_600_000).toISOString();
  const ids = store.transaction(() => {
    if (seenMinutesAgo && !store.siteById('s1')) store.insertSite({ id: 's1', name: 'blog', secret: 'x'.repeat(32), created_at: at });
    return ips.map((ipKey, i) => {
      if (seenMinutesAgo) {
        const occurred = new Date(Date.now() - seenMinutesAgo(i) * 60_000).toISOString();
        store.insertEvent({
          id: randomUUID(), site_id: 's1', type: 'login_failed', ip: ipKey, ip_key: ipKey, username: 'admin', user_agent: null, path: '/wp-login.php',
          weight: 1, occurred_at: occurred, received_at: occurred, ignored_reason: null,
        });
      }
      const id = store.insertBan({ ip_key: ipKey, jail: 'wp-login', reason: 'botnet', trigger_event_ids: null, ban_count: 1, created_at: at, expires_at: until });
      store.enqueueEnforcement(ipKey, at);
      return id;
    });
  });
  h.enforcers.forEach((e) => e.wake());
  return ids;
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20));
  assert.ok(condition(), what);
}

/** Every ban has a placement and nothing is left to do. */
async function allPlaced(h: Harness, enforcer: Enforcer): Promise<void> {
  for (;;) {
    await h.settle(enforcer);
    const status = enforcer.status();
    if (status.placements.pending === 0 && status.outboxDepth === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a bulk add the list refuses for size is split: what fits goes in, the rest overflows to access rules', { timeout: 120_000 }, async () => {
  // The account holds fewer items than list_capacity says (another tool's lists, an older plan).
  const h = await listHarness({ fake: { maxListItems: 100 } });
  try {
    const enforcer = await h.startEnforcer();
    const ips = Array.from({ length: 150 }, (_, i) => ip(i));
    banMany(h, ips);
    await allPlaced(h, enforcer);

    assert.equal(h.fake.listItems(LIST).length, 100, 'the list is filled to what it holds');
    assert.equal(taggedRules(h.fake).length, 50, 'the rest is in access rules');
    assert.ok(ips.every((a) => h.fake.isBlocked(a)), 'every address blocked at the edge');
    const status = enforcer.status();
    assert.equal(status.placements.list, 100);
    assert.equal(status.placements.access_rule, 50);
    assert.deepEqual(status.capacity.list, { used: 100, capacity: 100 }, 'the refusal taught the service the real limit');
    // Halving finds the fit in a few operations; the refused add is never sent whole again.
    const adds = h.fake.callCount({ method: 'POST', pathIncludes: '/items' });
    assert.ok(adds <= 2 * Math.ceil(Math.log2(150)) + 1, `${adds} bulk adds`);
    assert.equal(enforcer.placementOf(ips[0]!), 'list');
  } finally {
    await h.close();
  }
});

test('with list and access rules full, bans are held at the origin, the best get the slots, and a freed slot goes to the best waiting ban', { timeout: 120_000 }, async () => {
  const h = await listHarness({ config: { list_capacity: 20, access_rule_capacity: 5 } });
  try {
    const enforcer = await h.startEnforcer();
    // ips[0] was seen a minute ago, ips[29] thirty minutes ago: the recent ones cost the origin most.
    const ips = Array.from({ length: 30 }, (_, i) => ip(1000 + i));
    const bans = banMany(h, ips, (i) => i + 1);
    await allPlaced(h, enforcer);

    const shown = ips.map((a) => enforcer.placementOf(a));
    assert.deepEqual(shown.slice(0, 20), Array(20).fill('list'));
    assert.deepEqual(shown.slice(20, 25), Array(5).fill('access_rule'));
    assert.deepEqual(shown.slice(25), Array(5).fill('origin_only'));
    assert.equal(h.fake.isBlocked(ips[27]!), false, 'origin_only is not at the edge');
    assert.deepEqual(enforcer.status().placements, { list: 20, access_rule: 5, range: 0, origin_only: 5, pending: 0 });

    // A list slot frees: the best waiting ban (seen most recently) moves in.
    const store = createStore(h.db);
    const at = new Date().toISOString();
    store.transaction(() => {
      store.liftBan(bans[3]!, at, 'admin:api');
      store.enqueueEnforcement(ips[3]!, at);
    });
    enforcer.wake();
    await waitFor('ips[25] moves into the freed list slot', () => enforcer.placementOf(ips[25]!) === 'list');
    await allPlaced(h, enforcer);
    assert.equal(h.fake.isBlocked(ips[25]!), true);
    assert.equal(h.fake.isBlocked(ips[3]!), false);
    assert.equal(enforcer.placementOf(ips[26]!), 'origin_only', 'only as many move in as slots freed');
    assert.equal(enforcer.status().capacity.list!.used, 20);
  } finally {
    await h.close();
  }
});

test('12,000 bans through a list capped at 10,000: each reaches a placement within a computed call budget, and the outbox drains', { timeout: 240_000 }, async () => {
  const h = await listHarness();
  try {
    const enforcer = await h.startEnforcer();
    await enforcer.reconcile();
    const before = h.fake.calls.length;
    const ips = Array.from({ length: 12_000 }, (_, i) => ip(i));
    banMany(h, ips);
    await allPlaced(h, enforcer);

    const status = enforcer.status();
    const { list, access_rule, origin_only, pending, range } = status.placements;
    assert.equal(list + access_rule + origin_only + range, 12_000, 'every ban has a placement');
    assert.equal(pending, 0);
    assert.equal(list, 10_000, 'the list is full');
    assert.equal(h.fake.listItems(LIST).length, 10_000);
    assert.equal(taggedRules(h.fake).length, access_rule, 'each access_rule placement is one rule at Cloudflare');
    assert.ok(access_rule > 0, 'the overflow went to access rules as far as the budget allowed');
    assert.equal(status.outboxDepth, 0);
    assert.equal(status.outboxLagMs, 0);

    // The bound: 10 bulk adds of 1,000 (never one more: the count comes from SQLite), their
    // polls, a read-back of ids per run of 5,000 (at most the whole list), then one create
    // per overflow rule; and all of it inside the limiter's budget, so no 429.
    const calls = h.fake.calls.slice(before);
    const count = (method: string, part: string) => calls.filter((c) => c.method === method && c.path.includes(part)).length;
    const adds = count('POST', '/items');
    const polls = count('GET', 'bulk_operations');
    const reads = count('GET', '/items');
    const creates = count('POST', 'access_rules');
    assert.equal(adds, 10, `${adds} bulk adds`);
    assert.ok(polls <= adds * 10, `${polls} polls`);
    assert.ok(reads <= 2 * (10_000 / 500 + 1), `${reads} item page reads`);
    assert.equal(creates, access_rule, 'one call per overflow rule, no lookups');
    const budget = Math.floor(h.config.rate_limit.requests * (1 - h.config.rate_limit.safety_margin));
    assert.ok(calls.length <= adds + polls + reads + creates + 5, `${calls.length} calls in all`);
    assert.ok(calls.length <= budget, `${calls.length} calls, budget ${budget}`);
    assert.equal(calls.filter((c) => c.status === 429).length, 0);
  } finally {
    await h.close();
  }
});
