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
export type NeverBanCategory = 'loopback' | 'unspecified' | 'private' | 'link_local' | 'cloudflare';

const tag = (category: NeverBanCategory, cidrs: readonly string[]): LabelledCidr[] =>
  cidrs.map((cidr) => ({ cidr, label: category }));

/** Pass to `new CidrSet(...)` (alone or with extra strings) to build the never-ban set. */
export const NEVER_BAN_RANGES: readonly LabelledCidr[] = [
  ...tag('loopback', ['127.0.0.0/8', '::1/128']),
  ...tag('unspecified', ['0.0.0.0/8', '::/128']),
  ...tag('private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']),
  ...tag('link_local', ['169.254.0.0/16', 'fe80::/10']),
  ...tag('cloudflare', [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]),
];
