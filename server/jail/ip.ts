// IP addresses as the jails see them: one canonical spelling per address, the key a jail
// counts and bans (an IPv6 attacker owns a whole /64, not one address), and CIDR sets
// that answer "is this address or prefix covered?" without scanning every entry.

export type IpFamily = 4 | 6;

/** A parsed address or network; `value` is a uint32 number (IPv4) or a 128-bit bigint (IPv6). */
export interface ParsedCidr {
  family: IpFamily;
  /** Canonical text of the network address (host bits cleared). */
  network: string;
  prefix: number;
  value: number | bigint;
}

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
// Leading zeros are refused: "010.0.0.1" is octal to some parsers and decimal to others.
// The specification parseIpv4 meets (a test holds it to this).
export const IPV4_PATTERN = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

const V6_ALL_ONES = (1n << 128n) - 1n;
const V6_MASKS: bigint[] = Array.from({ length: 129 }, (_, p) => V6_ALL_ONES ^ ((1n << BigInt(128 - p)) - 1n));
const V4_MASKS: number[] = Array.from({ length: 33 }, (_, p) => (p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0));

// Hand-rolled: it runs several times per ingested event, and the regex + split + map it
// replaced was 7% of the service's CPU at full ingest.
export function parseIpv4(text: string): number | null {
  const length = text.length;
  if (length < 7 || length > 15) return null;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46 /* . */) {
      if (digits === 0 || dots === 3) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (code >= 48 && code <= 57) {
      if (digits === 1 && octet === 0) return null; // a leading zero ("010")
      octet = octet * 10 + (code - 48);
      if (++digits > 3 || octet > 255) return null;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + octet;
}

function parseIpv6(text: string): bigint | null {
  if (text.length < 2 || text.length > 45 || text.includes('%')) return null;
  let head = text;
  let tailV4: number | null = null;
  const lastColon = text.lastIndexOf(':');
  if (lastColon === -1) return null;
  if (text.indexOf('.', lastColon) !== -1) {
    // A dotted IPv4 tail stands for the last two groups.
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    // Keep "::" intact when the tail follows it ("::1.2.3.4"), else drop the separating colon.
    head = text[lastColon - 1] === ':' ? text.slice(0, lastColon + 1) : text.slice(0, lastColon);
  }
  const groupsWanted = tailV4 === null ? 8 : 6;
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const splitGroups = (part: string): string[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => HEX_GROUP_RE.test(g)) ? groups : null;
  };
  let groups: string[];
  if (halves.length === 2) {
    const left = splitGroups(halves[0]!);
    const right = splitGroups(halves[1]!);
    if (!left || !right) return null;
    const missing = groupsWanted - left.length - right.length;
    if (missing < 1) return null; // "::" must stand for at least one group
    groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  } else {
    const all = splitGroups(head);
    if (!all || all.length !== groupsWanted) return null;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== null) value = (value << 32n) | BigInt(tailV4);
  return value;
}

export function formatIpv4(value: number): string {
  // A template, not [...].join('.'): every event's address passes here several times.
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * parseIpv4 takes only the canonical dotted quad, so an IPv4 text without a colon (not
 * `::ffff:a.b.c.d`) is its own spelling: no new string for every event.
 */
function canonicalIpv4(text: string, value: number): string {
  return text.includes(':') ? formatIpv4(value) : text;
}

/** RFC 5952: lowercase, no leading zeros, the longest run (first on a tie) of two or more zero groups as "::". */
function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

type ParsedIp = { family: 4; value: number } | { family: 6; value: bigint };

// The ingest path asks about the same address several times in a row (canonical form,
// ip_key, allowlist, never-ban); remembering the last answer makes the repeats free.
let lastText: string | null = null;
let lastParsed: ParsedIp | null = null;

/** One address (no prefix). IPv4-mapped IPv6 becomes the IPv4 address it carries. */
function parseIp(text: string): ParsedIp | null {
  if (text === lastText) return lastParsed;
  lastParsed = parseIpUncached(text);
  lastText = text;
  return lastParsed;
}

function parseIpUncached(text: string): ParsedIp | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v6 = parseIpv6(bare);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: Number(v6 & 0xffffffffn) };
  return { family: 6, value: v6 };
}

/**
 * The canonical spelling of an address, or null when it is not one. IPv4 is strict dotted
 * quad; IPv6 follows RFC 5952; `::ffff:1.2.3.4` becomes `1.2.3.4` (the same client seen
 * through a dual-stack socket); surrounding brackets are dropped; zone ids (`fe80::1%eth0`)
 * are refused because they mean nothing outside the host that wrote them.
 */
export function normaliseIp(ip: string): string | null {
  const parsed = parseIp(ip);
  if (!parsed) return null;
  if (parsed.family === 6) return formatIpv6(parsed.value);
  return canonicalIpv4(ip, parsed.value);
}

export class InvalidIpError extends Error {
  constructor(readonly input: string) {
    super(`"${input.slice(0, 80)}" is not an IPv4 or IPv6 address`);
    this.name = 'InvalidIpError';
  }
}

/**
 * What a jail counts and bans: an IPv4 address as is; an IPv6 address as its network
 * "<network>/<prefix>" (default /64, the smallest block an ISP hands a customer, so an
 * attacker cannot dodge by rotating addresses). Prefix 128 gives the bare address.
 * Throws InvalidIpError on anything that is not an address (callers validate input first).
 */
export function ipKeyOf(ip: string, ipv6Prefix = 64): string {
  if (!Number.isInteger(ipv6Prefix) || ipv6Prefix < 1 || ipv6Prefix > 128) {
    throw new RangeError(`ipv6Prefix must be an integer 1..128, got ${ipv6Prefix}`);
  }
  const parsed = parseIp(ip);
  if (!parsed) throw new InvalidIpError(ip);
  if (parsed.family === 4) return canonicalIpv4(ip, parsed.value);
  if (ipv6Prefix === 128) return formatIpv6(parsed.value);
  return `${formatIpv6(parsed.value & V6_MASKS[ipv6Prefix]!)}/${ipv6Prefix}`;
}

/**
 * A network in CIDR notation, or a bare address as /32 or /128. Host bits are cleared
 * ("192.168.1.5/24" is 192.168.1.0/24) because that is what an admin writing it means.
 * `::ffff:a.b.c.d/≥96` is folded into IPv4, matching normaliseIp. Null on bad input.
 */
export function parseCidr(text: string, options: { foldMapped?: boolean } = {}): ParsedCidr | null {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  let prefix: number | null = null;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return null;
    prefix = Number(prefixText);
  }
  const v4 = parseIpv4(addressText);
  if (v4 !== null) {
    const p = prefix ?? 32;
    if (p > 32) return null;
    const value = (v4 & V4_MASKS[p]!) >>> 0;
    return { family: 4, network: formatIpv4(value), prefix: p, value };
  }
  const v6 = parseIpv6(addressText);
  if (v6 === null) return null;
  const p = prefix ?? 128;
  if (p > 128) return null;
  // foldMapped: false keeps "::ffff:0:0/96" as the IPv6 range it is written as, where folding
  // would turn it into 0.0.0.0/0 (the never-ban set needs the former, never the latter).
  if (p >= 96 && v6 >> 32n === 0xffffn && options.foldMapped !== false) {
    const value = (Number(v6 & 0xffffffffn) & V4_MASKS[p - 96]!) >>> 0;
    return { family: 4, network: formatIpv4(value), prefix: p - 96, value };
  }
  const value = v6 & V6_MASKS[p]!;
  return { family: 6, network: formatIpv6(value), prefix: p, value };
}

/**
 * The ip_key spelling of a network: an IPv4 /32 or IPv6 /128 as the bare address, any other
 * prefix as "<network>/<prefix>" (what ipKeyOf writes, what Cloudflare's targets take).
 */
export function keyOfNetwork(network: ParsedCidr): string {
  const single = network.prefix === (network.family === 4 ? 32 : 128);
  return single ? network.network : `${network.network}/${network.prefix}`;
}

/** The network of `prefix` bits holding a parsed address. */
function networkOf(parsed: ParsedIp, prefix: number): ParsedCidr {
  if (parsed.family === 4) {
    const value = (parsed.value & V4_MASKS[prefix]!) >>> 0;
    return { family: 4, network: formatIpv4(value), prefix, value };
  }
  const value = parsed.value & V6_MASKS[prefix]!;
  return { family: 6, network: formatIpv6(value), prefix, value };
}

/**
 * The widest network around `ip`, among the candidate prefix lengths of its family, that
 * overlaps none of the protected sets: a ban on it can never reach an allowlisted or
 * never-ban address. Candidates are tried widest first; the single address (/32, /128) is
 * always the last resort. Null for a bad address, or when the address itself is protected.
 * Jail keys ask for [ipv6Prefix]; range placements can ask for [48, 56, 64] and the like.
 */
export function widestUnprotectedNetwork(
  ip: string,
  protectedSets: readonly CidrSet[],
  candidates: { v4?: readonly number[]; v6?: readonly number[] } = {},
): ParsedCidr | null {
  const parsed = parseIp(ip);
  if (!parsed) return null;
  const full = parsed.family === 4 ? 32 : 128;
  const wanted = (parsed.family === 4 ? candidates.v4 : candidates.v6) ?? [];
  // Runs per IPv6 event at ingest: the usual single candidate skips the sort.
  const valid = wanted.filter((p) => Number.isInteger(p) && p >= 0 && p < full);
  const prefixes = valid.length > 1 ? [...new Set(valid)].sort((a, b) => a - b) : valid;
  prefixes.push(full);
  for (const prefix of prefixes) {
    const network = networkOf(parsed, prefix);
    if (!protectedSets.some((set) => set.overlaps(network))) return network;
  }
  return null;
}

/** The network an ip_key stands for ("2001:db8::/64" or "203.0.113.7"), or null if it is not one. */
export function ipKeyCidr(ipKey: string): ParsedCidr | null {
  return parseCidr(ipKey);
}

/** A CIDR, optionally tagged with why it is in the set (e.g. "loopback"). */
export interface LabelledCidr {
  cidr: string;
  label: string;
  /** False keeps an IPv4-mapped IPv6 range as IPv6 (see parseCidr). */
  foldMapped?: boolean;
}

/**
 * A set of networks answering membership in O(number of distinct prefix lengths), at most
 * 33 + 129 hash lookups, whatever the number of entries: networks are grouped by prefix
 * length and an address is masked once per length present.
 */
export class CidrSet {
  // prefix length → network value as an int32 → label ('' when none was given). Signed:
  // an unsigned value past 2^31 is a heap number, one allocated per prefix on every lookup.
  private readonly v4 = new Map<number, Map<number, string>>();
  // bigint keys hash badly in V8 (thousands of /48s made lookups 20× slower); hex strings do not.
  private readonly v6 = new Map<number, Map<string, string>>();
  private v4Prefixes: number[] = [];
  private v6Prefixes: number[] = [];
  // Every entry's first address, sorted: "does any entry start inside this network?" is one
  // binary search, which is what overlaps() needs beyond the containment lookup.
  private readonly v4Starts: number[];
  private readonly v6Starts: bigint[];
  readonly size: number;

  /** Throws naming the first entry that is not a CIDR or address. */
  constructor(cidrs: Iterable<string | LabelledCidr>) {
    let size = 0;
    for (const item of cidrs) {
      const text = typeof item === 'string' ? item : item.cidr;
      const label = typeof item === 'string' ? '' : item.label;
      const parsed = parseCidr(text.trim(), { foldMapped: typeof item === 'string' ? true : item.foldMapped });
      if (!parsed) throw new Error(`"${text}" is not an IP address or CIDR range`);
      if (parsed.family === 4) {
        let byNetwork = this.v4.get(parsed.prefix);
        if (!byNetwork) this.v4.set(parsed.prefix, (byNetwork = new Map()));
        const key = (parsed.value as number) | 0;
        if (!byNetwork.has(key)) size++;
        byNetwork.set(key, label);
      } else {
        let byNetwork = this.v6.get(parsed.prefix);
        if (!byNetwork) this.v6.set(parsed.prefix, (byNetwork = new Map()));
        const key = (parsed.value as bigint).toString(16);
        if (!byNetwork.has(key)) size++;
        byNetwork.set(key, label);
      }
    }
    this.size = size;
    // Most specific first, so labelOf names the narrowest range that matched.
    this.v4Prefixes = [...this.v4.keys()].sort((a, b) => b - a);
    this.v6Prefixes = [...this.v6.keys()].sort((a, b) => b - a);
    this.v4Starts = [...this.v4.values()].flatMap((byNetwork) => [...byNetwork.keys()].map((key) => key >>> 0)).sort((a, b) => a - b);
    this.v6Starts = [...this.v6.values()]
      .flatMap((byNetwork) => [...byNetwork.keys()].map((hex) => BigInt(`0x${hex}`)))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Whether any address of `network` is in the set: an entry holds the network, or an entry
   * lies inside it. A ban on a network that overlaps the allowlist would reach an allowlisted
   * address, so this, not containsKey, is the question to ask before banning a range.
   */
  overlaps(network: ParsedCidr | string): boolean {
    const parsed = typeof network === 'string' ? parseCidr(network) : network;
    if (!parsed) return false;
    if (parsed.family === 4) {
      const first = parsed.value as number;
      if (this.lookupV4(first, parsed.prefix) !== null) return true;
      const last = first + 2 ** (32 - parsed.prefix) - 1;
      const next = lowerBound(this.v4Starts, first);
      return next < this.v4Starts.length && this.v4Starts[next]! <= last;
    }
    const first = parsed.value as bigint;
    if (this.lookupV6(first, parsed.prefix) !== null) return true;
    const last = first | (V6_ALL_ONES >> BigInt(parsed.prefix));
    const next = lowerBound(this.v6Starts, first);
    return next < this.v6Starts.length && this.v6Starts[next]! <= last;
  }

  contains(ip: string): boolean {
    return this.labelOf(ip) !== null;
  }

  /** The label of the narrowest range holding the address ('' if unlabelled), or null. */
  labelOf(ip: string): string | null {
    const parsed = parseIp(ip);
    if (!parsed) return null;
    return parsed.family === 4 ? this.lookupV4(parsed.value, 32) : this.lookupV6(parsed.value, 128);
  }

  /** An ip_key (a bare address or a prefix like a /64) is covered only if the whole prefix is in the set. */
  containsKey(ipKey: string): boolean {
    const parsed = ipKeyCidr(ipKey);
    if (!parsed) return false;
    return parsed.family === 4
      ? this.lookupV4(parsed.value as number, parsed.prefix) !== null
      : this.lookupV6(parsed.value as bigint, parsed.prefix) !== null;
  }

  private lookupV4(value: number, maxPrefix: number): string | null {
    for (const p of this.v4Prefixes) {
      if (p > maxPrefix) continue;
      const label = this.v4.get(p)!.get(value & V4_MASKS[p]!);
      if (label !== undefined) return label;
    }
    return null;
  }

  private lookupV6(value: bigint, maxPrefix: number): string | null {
    for (const p of this.v6Prefixes) {
      if (p > maxPrefix) continue;
      const label = this.v6.get(p)!.get((value & V6_MASKS[p]!).toString(16));
      if (label !== undefined) return label;
    }
    return null;
  }
}

/** The index of the first element ≥ value in an ascending array. */
function lowerBound<T extends number | bigint>(sorted: readonly T[], value: T): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
