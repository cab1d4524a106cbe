// Source addresses for every bench load generator: 198.18.0.0/15 (RFC 2544, set aside for
// benchmarks) is in no never-ban range and is never a real client, so every bench event is
// counted by the jails exactly as an attacker's would be. Kept free of imports so the load
// processes can load it cheaply.

/** How many distinct addresses benchIp yields before repeating. */
export const BENCH_IP_CAPACITY = 2 ** 17;

/** The n-th bench address (n mod 2^17): 198.18.0.0 … 198.19.255.255. */
export const benchIp = (n: number, second = 18) => `198.${second + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;
