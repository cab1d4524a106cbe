// Events from addresses no jail may ban are stored but not counted, with the reason shown
// to the admin: their own allowlist, or a never-ban range a broken proxy setup produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet } from '../../server/jail/ip.ts';
import { ignoreReasonFor } from '../../server/jail/ignore.ts';
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6, NEVER_BAN_RANGES } from '../../server/jail/never-ban.ts';

const lists = {
  allowlist: new CidrSet(['198.51.100.0/24', '2001:db8:aaaa::/48', '10.9.9.9']),
  neverBan: new CidrSet(NEVER_BAN_RANGES),
};

test('ignoreReasonFor names why an address is not counted', async (t) => {
  const cases: Array<[ip: string, reason: string | null]> = [
    ['203.0.113.7', null],
    ['2001:db8:bbbb::1', null],
    ['198.51.100.23', 'allowlist'],
    ['2001:db8:aaaa:1::5', 'allowlist'],
    ['10.9.9.9', 'allowlist'], // the allowlist wins over never-ban: the admin said so explicitly
    ['127.0.0.1', 'never_ban:loopback'],
    ['127.45.0.3', 'never_ban:loopback'],
    ['::1', 'never_ban:loopback'],
    ['::ffff:127.0.0.1', 'never_ban:loopback'],
    ['0.0.0.0', 'never_ban:unspecified'],
    ['::', 'never_ban:unspecified'],
    ['10.1.2.3', 'never_ban:private'],
    ['172.16.0.1', 'never_ban:private'],
    ['172.31.255.255', 'never_ban:private'],
    ['172.32.0.1', null],
    ['192.168.0.10', 'never_ban:private'],
    ['fd12:3456::1', 'never_ban:private'],
    ['169.254.169.254', 'never_ban:link_local'],
    ['fe80::1', 'never_ban:link_local'],
    ['173.245.48.1', 'never_ban:cloudflare'],
    ['162.159.1.1', 'never_ban:cloudflare'], // inside 162.158.0.0/15
    ['104.23.255.255', 'never_ban:cloudflare'], // end of 104.16.0.0/13
    ['104.27.255.255', 'never_ban:cloudflare'], // end of 104.24.0.0/14
    ['104.28.0.0', null],
    ['2606:4700::6810:84e5', 'never_ban:cloudflare'],
    ['2a06:98c7:ffff::1', 'never_ban:cloudflare'], // end of 2a06:98c0::/29
    ['2a06:98c8::1', null],
    ['100.64.0.1', 'never_ban:carrier_nat'], // RFC 6598: behind a carrier NAT, never a public source
    ['100.127.255.255', 'never_ban:carrier_nat'],
    ['100.128.0.0', null],
    ['100.63.255.255', null],
    ['::2', 'never_ban:ipv4_compatible'],
    ['::127.0.0.1', 'never_ban:ipv4_compatible'],
    ['::ffff:203.0.113.7', null], // mapped: judged as the IPv4 address it carries
    ['64:ff9b::192.0.2.33', 'never_ban:nat64'],
    ['64:ff9b:1::1', null],
    ['224.0.0.1', 'never_ban:multicast'],
    ['239.255.255.250', 'never_ban:multicast'],
    ['ff02::1', 'never_ban:multicast'],
    ['240.0.0.1', 'never_ban:reserved'],
    ['255.255.255.254', 'never_ban:reserved'],
    ['255.255.255.255', 'never_ban:broadcast'],
    ['fe80::1%eth0', 'invalid_ip'], // net.isIP() lets zone ids through; they cannot be keyed
  ];
  for (const [ip, reason] of cases) await t.test(ip, () => assert.equal(ignoreReasonFor(ip, lists), reason));
});

test('every published Cloudflare range is never banned, first and last address', () => {
  const neverBan = new CidrSet(NEVER_BAN_RANGES);
  for (const cidr of [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]) {
    assert.equal(neverBan.containsKey(cidr), true, cidr);
    assert.equal(ignoreReasonFor(cidr.split('/')[0]!, { allowlist: new CidrSet([]), neverBan }), 'never_ban:cloudflare', cidr);
  }
  assert.equal(CLOUDFLARE_IPV4.length, 15);
  assert.equal(CLOUDFLARE_IPV6.length, 7);
});

test('never-ban entries added as plain strings still get a category', () => {
  const neverBan = new CidrSet(['127.0.0.0/8', '198.18.0.0/15']);
  const allowlist = new CidrSet([]);
  assert.equal(ignoreReasonFor('127.0.0.1', { allowlist, neverBan }), 'never_ban:loopback');
  assert.equal(ignoreReasonFor('198.18.1.1', { allowlist, neverBan }), 'never_ban:listed');
});
