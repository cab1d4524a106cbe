// Ranges: 16 banned addresses of one IPv4 /24 (or 16 banned /64s of one IPv6 /48) are held
// at the edge by one range; the bans keep their own rows and expiry, the audit log says which
// bans the range stands for, and the range goes when fewer than the threshold remain. A
// range never covers an allowlisted or never-ban address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { banMany, createHarness, liftMany, listHarness, type Harness } from './support.ts';
import { runCloudflareCommand } from '../../server/cloudflare/commands.ts';
import { guardFrom } from '../../server/enforcement/ranges.ts';
import { CidrSet } from '../../server/jail/ip.ts';
import type { Enforcer } from '../../server/enforcement/worker.ts';

const LIST = 'edgejail_blocked';

async function until(what: string, condition: () => boolean, enforcer: Enforcer): Promise<void> {
  while (!condition()) {
    enforcer.wake();
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(condition(), what);
}

const items = (h: Harness) => h.fake.listItems(LIST).map((i) => i.ip).sort();
const audits = (h: Harness, action: string) =>
  (h.db.prepare('SELECT ip_key, detail FROM audit_log WHERE action = ? ORDER BY id').all(action) as Array<{ ip_key: string; detail: string }>).map(
    (r) => ({ range: r.ip_key, ...(JSON.parse(r.detail) as Record<string, unknown>) }) as Record<string, unknown> & { range: string },
  );

test('16 bans in one /24 are held by one range item; the bans keep their rows; the range goes below the threshold', { timeout: 120_000 }, async () => {
  const h = await listHarness();
  try {
    const enforcer = await h.startEnforcer();
    const ips = Array.from({ length: 20 }, (_, i) => `198.51.100.${i + 1}`);
    const bans = banMany(h, ips);
    await until('one /24 item stands for the 20 bans', () => items(h).join() === '198.51.100.0/24' && ips.every((ip) => enforcer.placementOf(ip) === 'range'), enforcer);
    await h.settle(enforcer);
    assert.ok(ips.every((ip) => h.fake.isBlocked(ip)));
    assert.deepEqual(enforcer.status().placements, { list: 0, access_rule: 0, range: 20, origin_only: 0, pending: 0 });
    assert.equal(enforcer.enforcementStateOf(ips[0]!), 'applied');
    const active = h.db.prepare("SELECT count(*) AS n FROM bans WHERE state = 'active' AND ip_key LIKE '198.51.100.%'").get() as { n: number };
    assert.equal(active.n, 20, 'every ban keeps its own row');
    const [placed] = audits(h, 'range_placed');
    assert.equal(placed!.range, '198.51.100.0/24');
    assert.deepEqual(placed!.stands_for, [...ips].sort());
    assert.deepEqual([...(placed!.ban_ids as number[])].sort((a, b) => a - b), bans);
    assert.equal(enforcer.status().capacity.list!.used, 1, 'the range takes one slot');

    // Five bans end: 15 remain, under the threshold. The range goes, the 15 get items of their own.
    liftMany(h, bans.slice(0, 5));
    const rest = ips.slice(5);
    await until('15 items of their own, no range', () => items(h).join() === [...rest].sort().join() && rest.every((ip) => enforcer.placementOf(ip) === 'list'), enforcer);
    await h.settle(enforcer);
    assert.ok(rest.every((ip) => h.fake.isBlocked(ip)));
    assert.ok(ips.slice(0, 5).every((ip) => !h.fake.isBlocked(ip)), 'the lifted bans are no longer blocked');
    const [removed] = audits(h, 'range_removed');
    assert.deepEqual(removed!.remaining, [...rest].sort());

    const report = await enforcer.reconcile();
    assert.equal(report.orphansRemoved + report.missingReapplied + report.idsRepaired, 0, JSON.stringify(report));
  } finally {
    await h.close();
  }
});

test('16 banned /64s of one IPv6 /48 become one /48 range', { timeout: 120_000 }, async () => {
  const h = await listHarness();
  try {
    const enforcer = await h.startEnforcer();
    const keys = Array.from({ length: 16 }, (_, i) => `2001:db8:77:${(i + 1).toString(16)}::/64`);
    banMany(h, keys);
    await until('one /48 item', () => items(h).join() === '2001:db8:77::/48' && keys.every((k) => enforcer.placementOf(k) === 'range'), enforcer);
    assert.equal(h.fake.isBlocked('2001:db8:77:5::1'), true);
  } finally {
    await h.close();
  }
});

test('a range never covers an allowlisted or never-ban address: those bans stay one item each', { timeout: 120_000 }, async () => {
  const h = await listHarness();
  try {
    const enforcer = await h.startEnforcer(h.config, { rangeGuard: guardFrom(() => [new CidrSet(['198.51.100.200/32'])]) });
    const allowlisted = Array.from({ length: 16 }, (_, i) => `198.51.100.${i + 1}`);
    const neverBan = Array.from({ length: 16 }, (_, i) => `10.9.9.${i + 1}`); // banned by hand inside a private /24
    banMany(h, [...allowlisted, ...neverBan]);
    await h.settle(enforcer);
    await until('every ban placed', () => enforcer.status().placements.list === 32, enforcer);
    assert.equal(items(h).length, 32);
    assert.ok(!items(h).some((i) => i.includes('/')), 'no range item');
    assert.equal(h.fake.isBlocked('198.51.100.200'), false);
    assert.deepEqual(audits(h, 'range_placed'), []);
  } finally {
    await h.close();
  }
});

test('with the access_rules backend a range is one ip_range rule, and the bans it stands for give up their own rules', { timeout: 120_000 }, async () => {
  const h = await createHarness();
  try {
    const enforcer = await h.startEnforcer();
    const ips = Array.from({ length: 16 }, (_, i) => `203.0.113.${i + 10}`);
    banMany(h, ips);
    const rules = () => h.fake.accessRules('account').filter((r) => r.notes.startsWith('edgejail:'));
    await until('one ip_range rule', () => rules().length === 1 && ips.every((ip) => enforcer.placementOf(ip) === 'range'), enforcer);
    await h.settle(enforcer);
    const [rule] = rules();
    assert.deepEqual({ target: rule!.configuration.target, value: rule!.configuration.value }, { target: 'ip_range', value: '203.0.113.0/24' });
    assert.ok(ips.every((ip) => h.fake.isBlocked(ip)));
  } finally {
    await h.close();
  }
});

// The bench's botnet fills the list with the members' own items before the ranges are
// grouped: a range must then still reach the edge, in the overflow, and the members' own
// items and rules leave, so two objects (one per network) hold what was 32 slots' worth.
test('with the list full, a range goes to an ip_range access rule and its members give up their own items', { timeout: 120_000 }, async () => {
  const h = await listHarness({ list_capacity: 20 });
  try {
    const enforcer = await h.startEnforcer();
    const fillers = Array.from({ length: 4 }, (_, i) => `192.0.2.${i + 1}`); // fewer than a range's threshold
    const network = Array.from({ length: 32 }, (_, i) => `198.51.100.${i + 1}`);
    banMany(h, [...fillers, ...network]);
    const rules = () => h.fake.accessRules('account').filter((r) => r.notes.startsWith('edgejail:'));
    const edge = () => [...items(h), ...rules().map((r) => r.configuration.value)].sort();
    await until(
      'the /24 held by one object, the fillers by their items',
      () => edge().filter((v) => v.startsWith('198.51.100.')).join() === '198.51.100.0/24' && network.every((ip) => enforcer.placementOf(ip) === 'range'),
      enforcer,
    );
    await h.settle(enforcer);
    assert.deepEqual(edge(), [...fillers, '198.51.100.0/24'].sort());
    assert.deepEqual(rules().map((r) => [r.configuration.target, r.configuration.value]), [['ip_range', '198.51.100.0/24']], 'the list had no room for it');
    assert.ok([...fillers, ...network].every((ip) => h.fake.isBlocked(ip)), 'every ban is blocked at the edge');
    assert.deepEqual(enforcer.status().placements, { list: 4, access_rule: 0, range: 32, origin_only: 0, pending: 0 });
    const report = await enforcer.reconcile();
    assert.equal(report.orphansRemoved + report.missingReapplied + report.idsRepaired, 0, JSON.stringify(report));
  } finally {
    await h.close();
  }
});
