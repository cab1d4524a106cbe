// "Is this IP bannable, and what is its key?", answered once for ingest, the admin API, the
// dashboard and the CLI. A key never reaches a protected address: an IPv6 address whose /64
// holds an allowlisted or never-ban address is keyed (and banned) as itself alone.
import { keyOfNetwork, normaliseIp, parseCidr, widestUnprotectedNetwork } from './ip.ts';
import { ignoreReasonFor, type IgnoreLists } from './ignore.ts';

export interface AddressVerdict {
  /** The canonical spelling (RFC 5952, mapped IPv4 folded). */
  ip: string;
  /**
   * What the jails count and ban. For a protected address it is the address alone: its events
   * are filed under it, and looking up its bans can never find a neighbour's.
   */
  ipKey: string;
  /** Why no jail may ban it (`allowlist`, `never_ban:<category>`), or null when it is bannable. */
  protectedBy: string | null;
}

/** Null when `text` is not an IPv4 or IPv6 address. */
export function judgeAddress(text: string, lists: IgnoreLists, ipv6Prefix: number): AddressVerdict | null {
  const ip = normaliseIp(text);
  if (ip === null) return null;
  const protectedBy = ignoreReasonFor(ip, lists);
  if (protectedBy !== null) return { ip, ipKey: ip, protectedBy };
  // An IPv4 key is the address alone, which ignoreReasonFor has just found unprotected.
  if (!ip.includes(':') || ipv6Prefix === 128) return { ip, ipKey: ip, protectedBy: null };
  const network = widestUnprotectedNetwork(ip, [lists.allowlist, lists.neverBan], { v6: [ipv6Prefix] });
  // Unreachable while ignoreReasonFor and the sets agree; the address alone is the safe answer.
  return { ip, ipKey: network ? keyOfNetwork(network) : ip, protectedBy: null };
}

/**
 * The ip_key an admin means when they name one to look up or unban: an address is keyed as
 * the jails key it; a network ("2001:db8::/64", "203.0.113.0/24") is taken as written, host
 * bits cleared. Null when it is neither.
 */
export function ipKeyFromInput(text: string, lists: IgnoreLists, ipv6Prefix: number): string | null {
  const trimmed = text.trim();
  const verdict = judgeAddress(trimmed, lists, ipv6Prefix);
  if (verdict) return verdict.ipKey;
  if (!trimmed.includes('/')) return null;
  const network = parseCidr(trimmed);
  return network ? keyOfNetwork(network) : null;
}
