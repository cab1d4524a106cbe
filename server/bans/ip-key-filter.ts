// A Bloom filter over ip_keys: "certainly not" without a SQLite query. The ban lookup keeps
// one of the keys that have (or had, since it was built) an active ban, the ban history one
// of the keys with a ban since its look-back. With 100,000 distinct attacking addresses
// most lookups miss the bounded caches, and a miss was an indexed query per event (a fifth
// of a batch's time). False positives only cost the query they would have cost anyway;
// nothing is ever removed, so a lifted ban stays a (harmless) positive.
const BITS = 1 << 21; // 256 KiB: about 1% false positives at the default 200,000 active bans
const MASK = BITS - 1;
const HASHES = 7;

export function createIpKeyFilter() {
  const bits = new Uint32Array(BITS >>> 5);

  // FNV-1a and a second multiplicative hash; the k probes are h1 + i·h2 (Kirsch–Mitzenmacher).
  function hashes(key: string): [number, number] {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    return [h1 >>> 0, (h2 | 1) >>> 0];
  }

  return {
    add(key: string): void {
      const [h1, h2] = hashes(key);
      for (let i = 0; i < HASHES; i++) {
        const bit = (h1 + Math.imul(i, h2)) & MASK;
        bits[bit >>> 5]! |= 1 << (bit & 31);
      }
    },
    /** False: key was never added. True: maybe. */
    mayContain(key: string): boolean {
      const [h1, h2] = hashes(key);
      for (let i = 0; i < HASHES; i++) {
        const bit = (h1 + Math.imul(i, h2)) & MASK;
        if ((bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
      }
      return true;
    },
  };
}
