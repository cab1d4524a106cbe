// Window keys → window slots, in least-recently-updated order, in typed arrays. A Map kept
// in that order (delete and set again on every event) filled its table with deleted
// entries, so V8 kept it at twice the keys' capacity: 7.0 MB for 100,000 keys, and as much
// again while it rehashed. Here an IPv4 key (an int32, see packKey) lives in an
// open-addressing table of slot numbers, and the order is a doubly linked list through
// per-slot columns: touching a key moves two links and allocates nothing. Other keys (IPv6
// prefixes, site-scoped keys) are strings in a Map, in the same list. Plain data, no I/O.

import { createGrowableColumns } from './growable-columns.ts';

const NONE = -1;
const MIN_TABLE_BITS = 10;

/** A key: an int32 (a packed IPv4 address) or any other string. */
export type IndexKey = string | number;

export function createLruKeyIndex(reservedSlots = 1 << 20) {
  // Per slot: its neighbours in the order, and its key.
  const columns = createGrowableColumns(1024, reservedSlots);
  let olderOf = columns.add(Int32Array);
  let newerOf = columns.add(Int32Array);
  let intKeyOf = columns.add(Int32Array);
  /** The string key of a slot, where it has one (dense up to the highest such slot). */
  const textKeyOf: Array<string | null> = [];
  const byText = new Map<string, number>();

  // Slot + 1 by hash of the int key; 0 is empty. At most half full, linear probing.
  let bits = MIN_TABLE_BITS;
  let table = new Int32Array(1 << bits);
  let intKeys = 0;

  let oldest = NONE;
  let newest = NONE;
  let size = 0;

  const home = (key: number): number => Math.imul(key, 0x9e3779b1) >>> (32 - bits);

  function positionOf(key: number): number {
    const mask = table.length - 1;
    for (let i = home(key); ; i = (i + 1) & mask) {
      const held = table[i]!;
      if (held === 0) return NONE;
      if (intKeyOf[held - 1] === key) return i;
    }
  }

  function place(slot: number): void {
    const mask = table.length - 1;
    let i = home(intKeyOf[slot]!);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }

  function resize(newBits: number): void {
    const old = table;
    bits = newBits;
    table = new Int32Array(1 << bits);
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) place(old[i]! - 1);
  }

  /** Empties table position i, moving back the entries after it that probed past it (no tombstones). */
  function removeAt(i: number): void {
    const mask = table.length - 1;
    table[i] = 0;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const h = home(intKeyOf[table[j]! - 1]!);
      if (((i - h) & mask) < ((j - h) & mask)) {
        table[i] = table[j]!;
        table[j] = 0;
        i = j;
      }
    }
  }

  function ensureSlot(slot: number): void {
    while (slot >= columns.length) {
      if (columns.grow()) [olderOf, newerOf, intKeyOf] = columns.arrays as [Int32Array<ArrayBuffer>, Int32Array<ArrayBuffer>, Int32Array<ArrayBuffer>];
    }
  }

  function link(slot: number): void {
    olderOf[slot] = newest;
    newerOf[slot] = NONE;
    if (newest === NONE) oldest = slot;
    else newerOf[newest] = slot;
    newest = slot;
  }

  function unlink(slot: number): void {
    const older = olderOf[slot]!;
    const newer = newerOf[slot]!;
    if (older === NONE) oldest = newer;
    else newerOf[older] = newer;
    if (newer === NONE) newest = older;
    else olderOf[newer] = older;
  }

  const textKey = (slot: number): string | null => (slot < textKeyOf.length ? textKeyOf[slot]! : null);

  return {
    get size(): number {
      return size;
    },
    /** The key's slot, or -1. */
    get(key: IndexKey): number {
      if (typeof key === 'string') return byText.get(key) ?? NONE;
      const i = positionOf(key);
      return i === NONE ? NONE : table[i]! - 1;
    },
    /** Adds a key that is not in the index, as the most recent. */
    add(key: IndexKey, slot: number): void {
      ensureSlot(slot);
      if (typeof key === 'string') {
        while (textKeyOf.length <= slot) textKeyOf.push(null); // dense, so V8 keeps it a plain array
        textKeyOf[slot] = key;
        byText.set(key, slot);
      } else {
        if (slot < textKeyOf.length) textKeyOf[slot] = null;
        intKeyOf[slot] = key;
        if (++intKeys * 2 > table.length) resize(bits + 1);
        place(slot);
      }
      link(slot);
      size++;
    },
    /** Makes the slot the most recent. */
    touch(slot: number): void {
      if (slot === newest) return;
      unlink(slot);
      link(slot);
    },
    /** Takes the slot and its key out. */
    remove(slot: number): void {
      unlink(slot);
      size--;
      const text = textKey(slot);
      if (text !== null) {
        byText.delete(text);
        textKeyOf[slot] = null;
        return;
      }
      removeAt(positionOf(intKeyOf[slot]!));
      // Shrinks after a flood has gone, so a quiet service gives the table back.
      if (--intKeys * 8 < table.length && bits > MIN_TABLE_BITS) resize(bits - 1);
    },
    /** The least recent slot, or -1; walk on with newer(). */
    oldest: (): number => oldest,
    newer: (slot: number): number => newerOf[slot]!,
    keyOf: (slot: number): IndexKey => textKey(slot) ?? intKeyOf[slot]!,
    /** Bytes of the columns and the table (outside the JS heap). */
    byteLength: (): number => columns.byteLength() + table.byteLength,
  };
}

export type LruKeyIndex = ReturnType<typeof createLruKeyIndex>;
export const NO_SLOT = NONE;
