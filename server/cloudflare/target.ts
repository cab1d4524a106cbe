// What Cloudflare is told to block for one ip_key: an IP Access Rule configuration or
// a list item. Cloudflare accepts only some prefix lengths, so this is also where an
// ip_key Cloudflare cannot take is refused, before any call.
import { isIPv4, isIPv6 } from 'node:net';

export type AccessRuleTarget = 'ip' | 'ip6' | 'ip_range';

export interface CloudflareTarget {
  /** IP Access Rules `configuration.target`. */
  target: AccessRuleTarget;
  /** IP Access Rules `configuration.value`, canonical form. */
  value: string;
  /** List item `ip`. */
  listIp: string;
}

export class UnsupportedIpKeyError extends Error {
  constructor(ipKey: string, why: string) {
    super(`cannot enforce ${ipKey} at Cloudflare: ${why}`);
    this.name = 'UnsupportedIpKeyError';
  }
}

const IPV4_RANGE_PREFIXES = new Set([16, 24]);
const IPV6_RANGE_PREFIXES = new Set([32, 48, 64]);

/** Lower-case, compressed IPv6 (the form Cloudflare answers with); IPv4 unchanged. */
export function canonicalIp(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** Same address or range, whatever spelling each side used. */
export function sameIpValue(a: string, b: string): boolean {
  const [addrA, lenA] = a.split('/');
  const [addrB, lenB] = b.split('/');
  return lenA === lenB && canonicalIp(addrA ?? '') === canonicalIp(addrB ?? '');
}

export function cloudflareTargetFor(ipKey: string): CloudflareTarget {
  const [address = '', prefixText, ...rest] = ipKey.split('/');
  if (rest.length) throw new UnsupportedIpKeyError(ipKey, 'not an IP address or prefix');
  if (prefixText === undefined) {
    if (isIPv4(address)) return { target: 'ip', value: address, listIp: address };
    if (isIPv6(address)) {
      const value = canonicalIp(address);
      return { target: 'ip6', value, listIp: value };
    }
    throw new UnsupportedIpKeyError(ipKey, 'not an IP address');
  }
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText)) throw new UnsupportedIpKeyError(ipKey, 'bad prefix length');
  if (isIPv4(address)) {
    if (prefix === 32) return { target: 'ip', value: address, listIp: address };
    if (!IPV4_RANGE_PREFIXES.has(prefix)) throw new UnsupportedIpKeyError(ipKey, 'IPv4 ranges must be /16 or /24');
    const value = `${address}/${prefix}`;
    return { target: 'ip_range', value, listIp: value };
  }
  if (isIPv6(address)) {
    const canonical = canonicalIp(address);
    if (prefix === 128) return { target: 'ip6', value: canonical, listIp: canonical };
    if (!IPV6_RANGE_PREFIXES.has(prefix)) throw new UnsupportedIpKeyError(ipKey, 'IPv6 ranges must be /32, /48 or /64');
    const value = `${canonical}/${prefix}`;
    return { target: 'ip_range', value, listIp: value };
  }
  throw new UnsupportedIpKeyError(ipKey, 'not an IP address or prefix');
}
