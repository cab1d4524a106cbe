// Why an address is protected (allowlisted or never banned), in words for the person who
// wonders why EdgeJail does not ban it. The verdict itself is the core's (judgeAddress),
// the same one ingest, the admin API and the CLI use.
import type { Core } from '../core.ts';
import { CidrSet } from '../jail/ip.ts';
import { MISCONFIGURED_PROXY_CATEGORIES, type NeverBanCategory } from '../jail/never-ban.ts';

export interface Protection {
  /** `allowlist` or `never_ban:<category>`, as stored on its events. */
  reason: string;
  /** A badge's few words: "allowlisted", "never banned: private". */
  label: string;
  /** One or two sentences: what it is and what that means here. */
  why: string;
  /** The allowlist entries covering it, for an allowlisted address. */
  entries: Array<{ cidr: string; source: 'config' | 'runtime'; note: string | null }>;
}

const CATEGORY_WHY: Record<NeverBanCategory, string> = {
  loopback: 'a loopback address: only this machine itself has it',
  unspecified: 'the unspecified address, which no client sends from',
  private: 'a private network address (RFC 1918 or IPv6 unique local): no client on the internet has it',
  link_local: 'a link-local address: it never leaves its own network segment',
  cloudflare: "one of Cloudflare's own addresses: banning it would shut out every visitor Cloudflare proxies",
  carrier_nat: 'in the carrier-grade NAT range (RFC 6598), which many customers of one provider share',
  ipv4_compatible: 'a deprecated IPv4-compatible IPv6 address',
  ipv4_mapped: 'an IPv4-mapped IPv6 address (it is judged as the IPv4 address it carries)',
  nat64: 'in the NAT64 range, which many IPv4 hosts behind one translator share',
  multicast: 'a multicast address, which is never the source of a request',
  reserved: 'in the reserved range 240.0.0.0/4',
  broadcast: 'the broadcast address',
};

const NOT_COUNTED = 'EdgeJail stores its events but never counts them, and no jail, admin or API call can ban it.';

/** Null when the ip_key is bannable, or is a network (only single addresses are protected). */
export function protectionOf(core: Core, ipKey: string): Protection | null {
  const verdict = core.judgeAddress(ipKey);
  if (!verdict?.protectedBy) return null;
  return describeProtection(core, verdict.ip, verdict.protectedBy);
}

export function describeProtection(core: Core, ip: string, reason: string): Protection {
  if (reason === 'allowlist') {
    const { config, runtime } = core.allowlistEntries();
    const covers = (cidr: string) => {
      try {
        return new CidrSet([cidr]).contains(ip);
      } catch {
        return false;
      }
    };
    const entries = [
      ...config.filter(covers).map((cidr) => ({ cidr, source: 'config' as const, note: null })),
      ...runtime.filter((e) => covers(e.cidr)).map((e) => ({ cidr: e.cidr, source: 'runtime' as const, note: e.note })),
    ];
    return { reason, label: 'allowlisted', why: `It is on the allowlist. ${NOT_COUNTED}`, entries };
  }
  const category = reason.startsWith('never_ban:') ? reason.slice('never_ban:'.length) : reason;
  const known = CATEGORY_WHY[category as NeverBanCategory];
  const proxyHint = MISCONFIGURED_PROXY_CATEGORIES.has(category as NeverBanCategory)
    ? ' Seeing it as the client of a site usually means a proxy in front of that site hands over its own address instead of the visitor’s: fix the plugin’s trusted proxies or client-IP header.'
    : '';
  return {
    reason,
    label: `never banned: ${category.replace(/_/g, ' ')}`,
    why: `It is ${known ?? 'on the never-ban list'}. ${NOT_COUNTED}${proxyHint}`,
    entries: [],
  };
}
