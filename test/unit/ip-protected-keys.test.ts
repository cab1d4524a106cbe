// The widest key around an address that reaches no protected address: what a jail bans an
// IPv6 attacker under, and the check a range placement reuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, keyOfNetwork, widestUnprotectedNetwork } from '../../server/jail/ip.ts';
import { judgeAddress, ipKeyFromInput } from '../../server/jail/bannable.ts';
import { NEVER_BAN_RANGES } from '../../server/jail/never-ban.ts';
import { AllowlistEntryError, parseAllowlistEntry } from '../../server/jail/allowlist-entry.ts';

const neverBan = new CidrSet(NEVER_BAN_RANGES);

test('CidrSet.overlaps: an entry holds the network, or lies inside it', async (t) => {
  const set = new CidrSet(['2001:db8:1:2::5', '10.0.0.0/8', '198.51.100.16/28', '2001:db8:ff00::/40']);
  const cases: Array<[network: string, expected: boolean]> = [
    ['2001:db8:1:2::/64', true], // holds the /128
    ['2001:db8:1:3::/64', false],
    ['2001:db8:1:2::5', true],
    ['2001:db8:1:2::4/127', true],
    ['2001:db8:1:2::6/127', false],
    ['2001:db8::/32', true],
    ['2001:db8:ff12::/48', true], // inside the /40
    ['10.1.2.3', true],
    ['8.0.0.0/6', true], // holds 10.0.0.0/8
    ['12.0.0.0/6', false],
    ['198.51.100.0/28', false], // ends where the /28 entry starts
    ['198.51.100.0/27', true],
    ['198.51.100.31', true],
    ['198.51.100.32', false],
    ['0.0.0.0/0', true],
    ['::/0', true],
  ];
  for (const [network, expected] of cases) await t.test(network, () => assert.equal(set.overlaps(network), expected));
  assert.equal(new CidrSet([]).overlaps('::/0'), false);
});

test('never-ban ranges reach into ::/64, so nothing there is keyed wider than itself', () => {
  for (const network of ['::/64', '::/96', '::ffff:0:0/96', '64:ff9b::/64', 'ff00::/8']) assert.equal(neverBan.overlaps(network), true, network);
  // ::ffff:0:0/96 is kept as IPv6: as never-ban it must not turn into "every IPv4 address".
  assert.equal(neverBan.contains('8.8.8.8'), false);
  assert.equal(neverBan.contains('::ffff:8.8.8.8'), false);
});

test('widestUnprotectedNetwork tries the candidates widest first and falls back to the address', () => {
  const allowlist = new CidrSet(['2001:db8:1:2::5']);
  const key = (ip: string, v6: number[]) => {
    const network = widestUnprotectedNetwork(ip, [allowlist, neverBan], { v6 });
    return network && keyOfNetwork(network);
  };
  assert.equal(key('2001:db8:1:2::7', [64]), '2001:db8:1:2::7');
  assert.equal(key('2001:db8:1:2::7', [48, 64, 120, 127]), '2001:db8:1:2::6/127'); // /120 holds ::5
  assert.equal(key('2001:db8:1:3::7', [48, 64]), '2001:db8:1:3::/64'); // the /48 holds ::5
  assert.equal(key('2001:db8:9::1', [48, 64]), '2001:db8:9::/48');
  assert.equal(key('2001:db8:1:2::5', [64]), null, 'a protected address has no bannable key');
  assert.equal(key('not an ip', [64]), null);
  assert.equal(keyOfNetwork(widestUnprotectedNetwork('203.0.113.9', [neverBan], { v4: [24] })!), '203.0.113.0/24');
});

test('judgeAddress: one answer to "bannable, and under which key?"', () => {
  const lists = { allowlist: new CidrSet(['2001:db8:1:2::5', '192.0.2.0/24']), neverBan };
  assert.deepEqual(judgeAddress('2001:DB8:1:2::7', lists, 64), { ip: '2001:db8:1:2::7', ipKey: '2001:db8:1:2::7', protectedBy: null });
  assert.deepEqual(judgeAddress('2001:db8:1:2::5', lists, 64), { ip: '2001:db8:1:2::5', ipKey: '2001:db8:1:2::5', protectedBy: 'allowlist' });
  assert.deepEqual(judgeAddress('2001:db8:7::1', lists, 64), { ip: '2001:db8:7::1', ipKey: '2001:db8:7::/64', protectedBy: null });
  assert.deepEqual(judgeAddress('::ffff:203.0.113.7', lists, 64), { ip: '203.0.113.7', ipKey: '203.0.113.7', protectedBy: null });
  assert.deepEqual(judgeAddress('::2', lists, 64), { ip: '::2', ipKey: '::2', protectedBy: 'never_ban:ipv4_compatible' });
  assert.equal(judgeAddress('fe80::1%eth0', lists, 64), null);
  assert.equal(ipKeyFromInput('2001:db8:7::/64', lists, 64), '2001:db8:7::/64');
  assert.equal(ipKeyFromInput(' 2001:db8:7::9 ', lists, 64), '2001:db8:7::/64');
  assert.equal(ipKeyFromInput('2001:db8:7::/129', lists, 64), null);
});

test('allowlist entries are stored with host bits cleared; a whole family needs force', () => {
  assert.equal(parseAllowlistEntry('203.0.113.77/24').cidr, '203.0.113.0/24');
  assert.equal(parseAllowlistEntry('203.0.113.77/32').cidr, '203.0.113.77');
  assert.equal(parseAllowlistEntry(' 2001:DB8::1/48 ').cidr, '2001:db8::/48');
  assert.equal(parseAllowlistEntry('::ffff:198.51.100.7').cidr, '198.51.100.7');
  for (const wide of ['0.0.0.0/0', '::/0', '::ffff:0:0/96', '1.2.3.4/0']) {
    assert.throws(() => parseAllowlistEntry(wide), (e: unknown) => e instanceof AllowlistEntryError && e.code === 'allowlist_too_wide', wide);
  }
  assert.equal(parseAllowlistEntry('0.0.0.0/0', { force: true }).cidr, '0.0.0.0/0');
  assert.throws(() => parseAllowlistEntry('10.0.0.0/33'), (e: unknown) => e instanceof AllowlistEntryError && e.code === 'invalid_cidr');
});
