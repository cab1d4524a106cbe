// What an admin may put on the runtime allowlist, spelled one way: the network as written
// with its host bits cleared ("203.0.113.77/24" is 203.0.113.0/24), a single address bare.
import { keyOfNetwork, parseCidr, type ParsedCidr } from './ip.ts';

export class AllowlistEntryError extends Error {
  constructor(readonly code: 'invalid_cidr' | 'allowlist_too_wide', message: string) {
    super(message);
    this.name = 'AllowlistEntryError';
  }
}

export interface AllowlistEntry {
  /** The stored, canonical spelling. */
  cidr: string;
  network: ParsedCidr;
}

/**
 * Throws AllowlistEntryError for text that is not an address or range, and for a range
 * holding every address of its family (0.0.0.0/0, ::/0, ::ffff:0:0/96) unless forced: that
 * switches EdgeJail off, which is almost always a typo, never what "allow my office" means.
 */
export function parseAllowlistEntry(text: string, options: { force?: boolean } = {}): AllowlistEntry {
  const network = parseCidr(text.trim());
  if (!network) throw new AllowlistEntryError('invalid_cidr', `"${text.slice(0, 100)}" is not an IP address or CIDR range`);
  if (network.prefix === 0 && !options.force) {
    const all = network.family === 4 ? 'IPv4' : 'IPv6';
    throw new AllowlistEntryError(
      'allowlist_too_wide',
      `${text.trim()} is every ${all} address: allowlisting it stops all banning of ${all}.`,
    );
  }
  return { cidr: keyOfNetwork(network), network };
}
