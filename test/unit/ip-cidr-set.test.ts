// CidrSet answers "is this address, or this whole prefix, covered?" for allowlists and
// the never-ban ranges, whatever their size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, ipKeyOf } from '../../server/jail/ip.ts';

test('CidrSet.contains over IPv4 and IPv6 ranges', async (t) => {
  const set = new CidrSet(['10.0.0.0/8', '192.168.1.0/24', '203.0.113.7', '2001:db8::/32', '2606:4700:10::/48', '::1']);
  const cases: Array<[ip: string, expected: boolean]> = [
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.168.1.200', true],
    ['192.168.2.1', false],
    ['203.0.113.7', true],
    ['203.0.113.8', false],
    ['::ffff:10.1.2.3', true], // mapped form is the IPv4 address
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['2606:4700:10::6814:1', true],
    ['2606:4700:11::1', false],
    ['::1', true],
    ['::2', false],
    ['not an ip', false],
  ];
  for (const [ip, expected] of cases) await t.test(ip, () => assert.equal(set.contains(ip), expected));
});

test('CidrSet.containsKey: a prefix counts only if all of it is inside', async (t) => {
  const set = new CidrSet(['2001:db8::/32', '2001:db9:0:1::/64', '2001:dba::1', '10.0.0.0/8']);
  const cases: Array<[key: string, expected: boolean]> = [
    ['2001:db8:1:2::/64', true],
    ['2001:db8::/32', true],
    ['2001:db8::/31', false], // bigger than the entry
    ['2001:db9:0:1::/64', true],
    ['2001:db9:0:1::/63', false],
    ['2001:db9:0:2::/64', false],
    ['2001:dba::/64', false], // one address of it is listed, not the /64
    ['2001:dba::1', true],
    ['10.1.2.3', true],
    ['11.1.2.3', false],
    ['garbage', false],
  ];
  for (const [key, expected] of cases) await t.test(key, () => assert.equal(set.containsKey(key), expected));
  await t.test('an ip_key from ipKeyOf works as is', () => assert.equal(set.containsKey(ipKeyOf('2001:db8:5:6::9')), true));
});

test('labelOf names the narrowest range that matched', () => {
  const set = new CidrSet([{ cidr: '10.0.0.0/8', label: 'wide' }, { cidr: '10.1.0.0/16', label: 'narrow' }, '10.2.0.0/16']);
  assert.equal(set.labelOf('10.1.2.3'), 'narrow');
  assert.equal(set.labelOf('10.3.0.1'), 'wide');
  assert.equal(set.labelOf('10.2.0.1'), '');
  assert.equal(set.labelOf('11.0.0.1'), null);
});

test('an empty set contains nothing, a /0 everything of its family', () => {
  assert.equal(new CidrSet([]).contains('1.2.3.4'), false);
  const all4 = new CidrSet(['0.0.0.0/0']);
  assert.equal(all4.contains('198.51.100.1'), true);
  assert.equal(all4.contains('2001:db8::1'), false);
  assert.equal(new CidrSet(['::/0']).containsKey('2001:db8::/64'), true);
});

test('a bad entry is refused by name', () => {
  assert.throws(() => new CidrSet(['10.0.0.0/8', '10.0.0.0/33']), /"10\.0\.0\.0\/33" is not an IP address or CIDR range/);
});

test('a large set agrees with a plain linear check', () => {
  // Deterministic pseudo-random networks of many prefix lengths, and probes around them.
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const networks: Array<[number, number]> = [];
  for (let i = 0; i < 5000; i++) {
    const prefix = 8 + (next() % 25);
    const mask = (0xffffffff << (32 - prefix)) >>> 0;
    networks.push([(next() & mask) >>> 0, prefix]);
  }
  const text = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  const set = new CidrSet(networks.map(([v, p]) => `${text(v)}/${p}`));
  for (let i = 0; i < 5000; i++) {
    const ip = i % 2 ? next() : (networks[i % networks.length]![0] + (next() % 512)) >>> 0;
    const linear = networks.some(([v, p]) => ((ip & ((0xffffffff << (32 - p)) >>> 0)) >>> 0) === v);
    assert.equal(set.contains(text(ip)), linear, text(ip));
  }
});
