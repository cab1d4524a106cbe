// Addresses no jail may ever ban. A misread proxy header turns every visitor into
// 127.0.0.1, a private address or a Cloudflare edge address; banning those would lock out
// everyone (or, at Cloudflare, be refused or do damage), so events from them are ignored.
import type { LabelledCidr } from './ip.ts';

/** Cloudflare's published edge ranges (https://www.cloudflare.com/ips/, also GET /client/v4/ips). */
export const CLOUDFLARE_IPV4: readonly string[] = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
];

export const CLOUDFLARE_IPV6: readonly string[] = [
  '2400:cb00::/32',
  '2606:4700::/32',
  '2803:f800::/32',
  '2405:b500::/32',
  '2405:8100::/32',
  '2a06:98c0::/29',
  '2c0f:f248::/32',
];

/** Why an address is never banned; ignoreReasonFor reports it as `never_ban:<category>`. */
export type NeverBanCategory =
  | 'loopback'
  | 'unspecified'
  | 'private'
  | 'link_local'
  | 'cloudflare'
  | 'carrier_nat'
  | 'ipv4_compatible'
  | 'ipv4_mapped'
  | 'nat64'
  | 'multicast'
  | 'reserved'
  | 'broadcast';

/**
 * Categories that no public client can have as its source address: seeing one means a proxy
 * in front of the site hands over its own (or an internal) address instead of the client's.
 */
export const MISCONFIGURED_PROXY_CATEGORIES: ReadonlySet<NeverBanCategory> = new Set([
  'loopback',
  'unspecified',
  'private',
  'link_local',
  'carrier_nat',
  'cloudflare',
]);

const tag = (category: NeverBanCategory, cidrs: readonly string[], extra: Partial<LabelledCidr> = {}): LabelledCidr[] =>
  cidrs.map((cidr) => ({ cidr, label: category, ...extra }));

/** Pass to `new CidrSet(...)` (alone or with extra strings) to build the never-ban set. */
export const NEVER_BAN_RANGES: readonly LabelledCidr[] = [
  ...tag('loopback', ['127.0.0.0/8', '::1/128']),
  ...tag('unspecified', ['0.0.0.0/8', '::/128']),
  ...tag('private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']),
  ...tag('link_local', ['169.254.0.0/16', 'fe80::/10']),
  // RFC 6598 shared address space: only ever between a carrier's NAT and its customers.
  ...tag('carrier_nat', ['100.64.0.0/10']),
  // Deprecated IPv4-compatible IPv6 (holds :: and ::1, so a key around it would too).
  ...tag('ipv4_compatible', ['::/96']),
  // The IPv6 spelling of every IPv4 address; kept as IPv6 so no IPv6 key can span it (an
  // address written this way is judged as the IPv4 address it carries).
  ...tag('ipv4_mapped', ['::ffff:0:0/96'], { foldMapped: false }),
  // NAT64: many IPv4 hosts behind one translator share these.
  ...tag('nat64', ['64:ff9b::/96']),
  ...tag('multicast', ['224.0.0.0/4', 'ff00::/8']),
  ...tag('reserved', ['240.0.0.0/4']),
  ...tag('broadcast', ['255.255.255.255/32']),
  ...tag('cloudflare', [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]),
];
