// Whether an event's address must not count towards any jail, and why. The service still
// stores such events (so an admin can see a misconfigured proxy) but marks them ignored.
import { CidrSet, normaliseIp } from './ip.ts';
import { NEVER_BAN_RANGES } from './never-ban.ts';

export interface IgnoreLists {
  /** The admin's own allowlist (offices, monitoring, their own servers). */
  allowlist: CidrSet;
  /** Usually `new CidrSet(NEVER_BAN_RANGES)`, possibly plus plain-string entries. */
  neverBan: CidrSet;
}

// Names the category of a never-ban entry that was added as a plain string.
const BUILT_IN_CATEGORIES = new CidrSet(NEVER_BAN_RANGES);

/**
 * 'allowlist', 'never_ban:<category>' (loopback, unspecified, private, link_local,
 * cloudflare, or 'listed' for a custom unlabelled entry), 'invalid_ip', or null when the
 * address may be counted. Checking this before ipKeyOf() also keeps addresses that
 * net.isIP() accepts but a jail cannot key (zone ids like "fe80::1%eth0") out of the engine.
 */
export function ignoreReasonFor(ip: string, lists: IgnoreLists): string | null {
  if (normaliseIp(ip) === null) return 'invalid_ip';
  if (lists.allowlist.contains(ip)) return 'allowlist';
  const label = lists.neverBan.labelOf(ip);
  if (label === null) return null;
  return `never_ban:${label || BUILT_IN_CATEGORIES.labelOf(ip) || 'listed'}`;
}
