// Ranges: when enough banned addresses share one IPv4 /24 (or banned /64s one IPv6 /48),
// one range object stands for all of them at the edge, which is what keeps a botnet that
// owns whole networks inside the list's capacity. Pure functions over ip_keys; the worker
// does the I/O.
import { parseCidr } from '../jail/ip.ts';
import { NEVER_BAN_RANGES } from '../jail/never-ban.ts';
import type { DesiredBlock } from '../store/enforcement.ts';

export interface RangeThresholds {
  ipv4_threshold: number;
  ipv6_threshold: number;
}

/** The /24 of an IPv4 address key, or the /48 of an IPv6 /64 key; null for anything else. */
export function rangeKeyOf(ipKey: string): string | null {
  const parsed = parseCidr(ipKey);
  if (!parsed) return null;
  if (parsed.family === 4 && parsed.prefix === 32 && !ipKey.includes('/')) return `${parseCidr(`${parsed.network}/24`)!.network}/24`;
  if (parsed.family === 6 && parsed.prefix === 64) return `${parseCidr(`${parsed.network}/48`)!.network}/48`;
  return null;
}

/** Whether two networks share any address (one contains the other). */
export function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  const prefix = Math.min(x.prefix, y.prefix);
  return parseCidr(`${x.network}/${prefix}`)!.network === parseCidr(`${y.network}/${prefix}`)!.network;
}

/** A range may be placed only if it covers no address that must never be banned. */
export type RangeGuard = (rangeKey: string) => boolean;

/** Refuses any range touching one of these networks (allowlist, never-ban ranges). */
export function guardFrom(protectedNetworks: () => Iterable<string>): RangeGuard {
  return (rangeKey) => {
    for (const network of protectedNetworks()) if (overlaps(rangeKey, network)) return false;
    return true;
  };
}

export const neverBanGuard: RangeGuard = guardFrom(() => NEVER_BAN_RANGES.map((r) => r.cidr));

/** The ranges the active bans call for now: each with the ip_keys it stands for, sorted. */
export function wantedRanges(desiredKeys: Iterable<string>, thresholds: RangeThresholds, guard: RangeGuard): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const ipKey of desiredKeys) {
    const range = rangeKeyOf(ipKey);
    if (range) groups.set(range, [...(groups.get(range) ?? []), ipKey]);
  }
  const wanted = new Map<string, string[]>();
  for (const [range, members] of groups) {
    const threshold = range.includes(':') ? thresholds.ipv6_threshold : thresholds.ipv4_threshold;
    if (members.length >= threshold && guard(range)) wanted.set(range, members.sort());
  }
  return wanted;
}

/** What the edge must hold for a range: until its last member's ban ends, every member's jail. */
export function rangeDesired(rangeKey: string, members: Array<DesiredBlock | null>): DesiredBlock | null {
  const live = members.filter((m): m is DesiredBlock => m !== null);
  if (!live.length) return null;
  return {
    ip_key: rangeKey,
    until: live.map((m) => m.until).sort().at(-1)!,
    jails: [...new Set(live.flatMap((m) => m.jails))].sort(),
    ban_id: Math.max(...live.map((m) => m.ban_id)),
  };
}
