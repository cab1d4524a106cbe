// Source addresses for every bench load generator: 198.18.0.0/15 (RFC 2544, set aside for
// benchmarks) is in no never-ban range and is never a real client, so every bench event is
// counted by the jails exactly as an attacker's would be. Kept free of imports so the load
// processes can load it cheaply.

/** How many distinct addresses benchIp yields before repeating. */
export const BENCH_IP_CAPACITY = 2 ** 17;

/** The n-th bench address (n mod 2^17): 198.18.0.0 … 198.19.255.255. */
export const benchIp = (n: number, second = 18) => `198.${second + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;

/**
 * The n-th address (n mod 2^17) of a warm-up load: 11.0.0.0 … 11.1.255.255, in turn like
 * benchIp's, and none of them benchIp's. A warm-up that sent the measured run's addresses
 * would leave them in the jails' windows or banned, and the measured run would judge them
 * differently from a first sighting.
 */
export const warmupBenchIp = (n: number) => `11.${(n >> 16) & 1}.${(n >> 8) & 255}.${n & 255}`;

/**
 * benchIp's addresses in the order a botnet's arrive: consecutive n land far apart, in other
 * /24s of the range (n times an odd number, mod 2^17, is a permutation). In turn, one /24's
 * 256 addresses follow each other, and an index keyed by address takes them on a page or
 * two; scattered, nearly every new address writes a page of its own.
 */
export const scatteredBenchIp = (n: number) => benchIp(Math.imul(n & (BENCH_IP_CAPACITY - 1), SCATTER) & (BENCH_IP_CAPACITY - 1));
const SCATTER = 40_503;

/** How many distinct addresses spreadBenchIp yields, one per /24, before repeating. */
export const SPREAD_IP_CAPACITY = 2 ** 16;

/**
 * The n-th address of a botnet spread over the address space: one per /24 of 11.0.0.0/8
 * (public, in no never-ban range, never two in one /24), so no range placement can hold
 * two of them. 198.18.0.0/15 has only 512 /24s, too few for 50,000 such bots.
 */
export const spreadBenchIp = (n: number) => `11.${(n >> 8) & 255}.${n & 255}.${(n * 7) % 254 + 1}`;

/** The k-th address (0-255) of the n-th /24 of 11.128.0.0/9: for networks a range can hold whole. */
export const denseBenchIp = (network: number, k: number) => `11.${128 + ((network >> 8) & 127)}.${network & 255}.${k & 255}`;
