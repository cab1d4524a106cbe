// One spelling per address: the same attacker must never count as two because one site
// reported ::ffff:1.2.3.4 and another 1.2.3.4, or 2001:DB8::1 and 2001:db8:0::1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidIpError, IPV4_PATTERN, ipKeyCidr, ipKeyOf, normaliseIp, parseCidr } from '../../server/jail/ip.ts';

test('normaliseIp gives the canonical spelling or null', async (t) => {
  const cases: Array<[input: string, expected: string | null]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['256.1.1.1', null],
    ['01.2.3.4', null], // leading zero: octal to some parsers
    ['1.2.3.04', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['1.2.3.4 ', null],
    [' 1.2.3.4', null],
    ['1.2.3.4/32', null],
    ['', null],
    ['garbage', null],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // the longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:1.2.3.4', '1.2.3.4'], // IPv4-mapped: the same client as 1.2.3.4
    ['::FFFF:0102:0304', '1.2.3.4'],
    ['::1.2.3.4', '::102:304'], // deprecated IPv4-compatible form is not IPv4
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['fe80::1%eth0', null], // zone ids mean nothing off the host
    ['fe80::1%25eth0', null],
    ['1::2::3', null],
    [':::', null],
    ['1:2:3:4:5:6:7:8:9', null],
    ['1:2:3:4:5:6:7', null],
    ['12345::1', null],
    ['g::1', null],
    ['1:2:3:4:5:6:7:1.2.3.4', null],
    ['::ffff:1.2.3.256', null],
  ];
  for (const [input, expected] of cases) {
    await t.test(JSON.stringify(input), () => assert.equal(normaliseIp(input), expected));
  }
});

test('ipKeyOf: IPv4 as is, IPv6 as its /64 unless told otherwise', async (t) => {
  const cases: Array<[ip: string, prefix: number | undefined, key: string]> = [
    ['203.0.113.7', undefined, '203.0.113.7'],
    ['::ffff:203.0.113.7', undefined, '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', undefined, '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:ffff::1', undefined, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2a3b:3:4:5:6', 56, '2001:db8:1:2a00::/56'],
    ['2001:db8:1:2:3:4:5:6', 128, '2001:db8:1:2:3:4:5:6'],
    ['2001:db8::1', 128, '2001:db8::1'],
  ];
  for (const [ip, prefix, key] of cases) {
    await t.test(`${ip} /${prefix ?? 'default'}`, () => assert.equal(ipKeyOf(ip, prefix), key));
  }
  await t.test('two addresses in one /64 share a key', () => {
    assert.equal(ipKeyOf('2001:db8:aa:bb::1'), ipKeyOf('2001:db8:aa:bb:ffff:ffff:ffff:ffff'));
    assert.notEqual(ipKeyOf('2001:db8:aa:bb::1'), ipKeyOf('2001:db8:aa:bc::1'));
  });
  await t.test('refuses what is not an address', () => {
    assert.throws(() => ipKeyOf('fe80::1%eth0'), InvalidIpError);
    assert.throws(() => ipKeyOf('2001:db8::1', 0), RangeError);
  });
});

test('ipKeyCidr reads an ip_key back as a network', () => {
  assert.deepEqual(pick(ipKeyCidr('2001:db8:1:2::/64')), { family: 6, network: '2001:db8:1:2::', prefix: 64 });
  assert.deepEqual(pick(ipKeyCidr('203.0.113.7')), { family: 4, network: '203.0.113.7', prefix: 32 });
  assert.deepEqual(pick(ipKeyCidr('2001:db8::1')), { family: 6, network: '2001:db8::1', prefix: 128 });
  assert.equal(ipKeyCidr('nonsense'), null);
});

test('parseCidr accepts networks and bare addresses, null on bad input', async (t) => {
  const cases: Array<[input: string, expected: { family: 4 | 6; network: string; prefix: number } | null]> = [
    ['10.0.0.0/8', { family: 4, network: '10.0.0.0', prefix: 8 }],
    ['192.168.1.5/24', { family: 4, network: '192.168.1.0', prefix: 24 }], // host bits cleared
    ['203.0.113.7', { family: 4, network: '203.0.113.7', prefix: 32 }],
    ['0.0.0.0/0', { family: 4, network: '0.0.0.0', prefix: 0 }],
    ['2001:DB8::/32', { family: 6, network: '2001:db8::', prefix: 32 }],
    ['2001:db8::1', { family: 6, network: '2001:db8::1', prefix: 128 }],
    ['2a06:98c0::/29', { family: 6, network: '2a06:98c0::', prefix: 29 }],
    ['::ffff:10.0.0.0/104', { family: 4, network: '10.0.0.0', prefix: 8 }],
    ['1.2.3.4/33', null],
    ['1.2.3.4/', null],
    ['1.2.3.4/08', null],
    ['1.2.3.4/-1', null],
    ['1.2.3.4/8/8', null],
    ['2001:db8::/129', null],
    ['10.0.0.0/8 ', null],
    ['example.com/24', null],
  ];
  for (const [input, expected] of cases) {
    await t.test(JSON.stringify(input), () => assert.deepEqual(pick(parseCidr(input)), expected));
  }
});

function pick(parsed: ReturnType<typeof parseCidr>) {
  return parsed && { family: parsed.family, network: parsed.network, prefix: parsed.prefix };
}

test('the hand-rolled IPv4 parser accepts exactly the dotted quads IPV4_PATTERN describes', () => {
  // Deterministic pseudo-random strings over digits and dots, plus the edge cases by hand.
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const samples = ['0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.', '.1.2.3.4', '1..2.3', '01.2.3.4', '1.2.3.04', '1.2.3.0', '10.0.0.1', '1.2.3.4 ', '१.2.3.4', '1.2.3.2555', '999.999.999.999', ''];
  for (let i = 0; i < 20_000; i++) {
    const length = 1 + (next() % 16);
    let text = '';
    for (let j = 0; j < length; j++) text += '0123456789..'[next() % 12];
    samples.push(text);
  }
  for (let i = 0; i < 5_000; i++) {
    samples.push([0, 1, 2, 3].map(() => String(next() % 300)).join('.'));
  }
  for (const text of samples) {
    const expected = IPV4_PATTERN.test(text) ? text : null;
    assert.equal(normaliseIp(text), expected, JSON.stringify(text));
  }
});
