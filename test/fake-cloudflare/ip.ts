// IP parsing, canonical text and CIDR matching for the fake Cloudflare API.
// Addresses are bigints so IPv4 and IPv6 share one code path for masking.

export type IpVersion = 4 | 6;
export interface IpAddress { version: IpVersion; value: bigint }
export interface IpNetwork { version: IpVersion; base: bigint; prefix: number }

const BITS: Record<IpVersion, number> = { 4: 32, 6: 128 };

export function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

export function parseIPv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const toGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  const tail = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (!head || !tail) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

export function parseIp(text: string): IpAddress | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { version: 4, value: v4 };
  const v6 = parseIPv6(text);
  if (v6 !== null) return { version: 6, value: v6 };
  return null;
}

export function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (2+) of zero groups as "::". */
export function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatIp(ip: IpAddress): string {
  return ip.version === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value);
}

function mask(version: IpVersion, prefix: number): bigint {
  const bits = BITS[version];
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** "a.b.c.d/n" or "x::/n"; host bits may be set (they are masked off for matching). */
export function parseCidr(text: string): { address: IpAddress; prefix: number } | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > BITS[address.version]) return null;
  return { address, prefix };
}

export function networkOf(address: IpAddress, prefix: number): IpNetwork {
  return { version: address.version, base: address.value & mask(address.version, prefix), prefix };
}

export function formatNetwork(n: IpNetwork): string {
  return `${formatIp({ version: n.version, value: n.base })}/${n.prefix}`;
}

export function networkContains(n: IpNetwork, ip: IpAddress): boolean {
  return n.version === ip.version && (ip.value & mask(n.version, n.prefix)) === n.base;
}

/** A network (single addresses are /32 or /128) from either notation. */
export function parseAddressOrCidr(text: string): IpNetwork | null {
  const cidr = parseCidr(text);
  if (cidr) return networkOf(cidr.address, cidr.prefix);
  const ip = parseIp(text);
  return ip ? { version: ip.version, base: ip.value, prefix: BITS[ip.version] } : null;
}

export function isSingleAddress(n: IpNetwork): boolean {
  return n.prefix === BITS[n.version];
}
