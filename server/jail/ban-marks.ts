// The jail engine's memory of past bans, per ip_key, in typed arrays: 30 bytes a ban
// where an object per ban plus an array per key cost about 250 bytes a key (49 MB at
// 200,000 bans). Each key's bans form a linked list of slots; a Map from the key to its
// first slot keeps the keys in least-recently-banned order. Plain data, no I/O.

import { createGrowableColumns } from './growable-columns.ts';
import { oldestEntryTaker } from './oldest-entry.ts';

const NONE = -1;

export interface BanMarkView {
  jail: string;
  createdAtMs: number;
  expiresAtMs: number;
  liftedAtMs: number | null;
}

export function createBanMarks(initialSlots = 1024) {
  const columns = createGrowableColumns(initialSlots);
  let created = columns.add(Float64Array);
  let expires = columns.add(Float64Array);
  let lifted = columns.add(Float64Array); // NaN: not lifted
  let jailIds = columns.add(Uint16Array);
  let next = columns.add(Int32Array);
  let highWater = 0;
  let freeHead = NONE;
  const jailNames: string[] = [];
  const jailIdOf = new Map<string, number>();
  /** ip_key → its first slot; insertion order = least recently banned first. */
  const heads = new Map<string, number>();
  const takeOldest = oldestEntryTaker(heads);

  function allocate(): number {
    if (freeHead !== NONE) {
      const slot = freeHead;
      freeHead = next[slot]!;
      return slot;
    }
    if (highWater === columns.length && columns.grow()) {
      [created, expires, lifted, jailIds, next] = columns.arrays as [Float64Array<ArrayBuffer>, Float64Array<ArrayBuffer>, Float64Array<ArrayBuffer>, Uint16Array<ArrayBuffer>, Int32Array<ArrayBuffer>];
    }
    return highWater++;
  }

  /** Gives a key's slots, from `head` on, back to the free list. */
  function freeList(head: number): void {
    for (let slot = head; slot !== NONE; ) {
      const following = next[slot]!;
      next[slot] = freeHead;
      freeHead = slot;
      slot = following;
    }
  }

  function jailId(jail: string): number {
    let id = jailIdOf.get(jail);
    if (id === undefined) {
      id = jailNames.length;
      jailNames.push(jail);
      jailIdOf.set(jail, id);
    }
    return id;
  }

  const marks = {
    get size(): number {
      return heads.size;
    },
    /** Bytes of the slots (outside the JS heap). */
    slotBytes: (): number => columns.byteLength(),
    has: (ipKey: string): boolean => heads.has(ipKey),
    /** Keys, least recently banned first. */
    keys: (): IterableIterator<string> => heads.keys(),
    /** The key's first slot, or -1; walk with next(). */
    first: (ipKey: string): number => heads.get(ipKey) ?? NONE,
    next: (slot: number): number => next[slot]!,
    jail: (slot: number): string => jailNames[jailIds[slot]!]!,
    createdAtMs: (slot: number): number => created[slot]!,
    expiresAtMs: (slot: number): number => expires[slot]!,
    liftedAtMs: (slot: number): number | null => (Number.isNaN(lifted[slot]!) ? null : lifted[slot]!),
    setLifted(slot: number, atMs: number): void {
      lifted[slot] = atMs;
    },
    setExpires(slot: number, atMs: number): void {
      expires[slot] = atMs;
    },
    /** When the ban stopped counting: its expiry, or its lifting if earlier. */
    effectiveEnd: (slot: number): number => (Number.isNaN(lifted[slot]!) ? expires[slot]! : Math.min(lifted[slot]!, expires[slot]!)),

    /** Adds a ban to the key's list (last) and makes the key the most recently banned; returns its slot. */
    append(ipKey: string, ban: BanMarkView): number {
      const slot = allocate();
      created[slot] = ban.createdAtMs;
      expires[slot] = ban.expiresAtMs;
      lifted[slot] = ban.liftedAtMs ?? Number.NaN;
      jailIds[slot] = jailId(ban.jail);
      next[slot] = NONE;
      const head = heads.get(ipKey);
      if (head === undefined) {
        heads.set(ipKey, slot);
      } else {
        let tail = head;
        while (next[tail] !== NONE) tail = next[tail]!;
        next[tail] = slot;
        heads.delete(ipKey); // re-inserted: the most recently banned goes last
        heads.set(ipKey, head);
      }
      return slot;
    },

    /** Forgets every ban of the key. */
    forget(ipKey: string): void {
      const head = heads.get(ipKey);
      if (head === undefined) return;
      heads.delete(ipKey);
      freeList(head);
    },

    /** Forgets the least recently banned key; returns it, or null when there is none. */
    forgetOldest(): string | null {
      const oldest = takeOldest();
      if (!oldest) return null;
      freeList(oldest[1]);
      return oldest[0];
    },

    /** Slots holding a ban (allocated minus free). */
    slotsInUse(): number {
      let free = 0;
      for (let slot = freeHead; slot !== NONE; slot = next[slot]!) free++;
      return highWater - free;
    },

    /** The key's bans as objects (tests, inspection). */
    list(ipKey: string): BanMarkView[] {
      const out: BanMarkView[] = [];
      for (let slot = marks.first(ipKey); slot !== NONE; slot = next[slot]!) {
        out.push({ jail: marks.jail(slot), createdAtMs: created[slot]!, expiresAtMs: expires[slot]!, liftedAtMs: marks.liftedAtMs(slot) });
      }
      return out;
    },
  };
  return marks;
}

export type BanMarks = ReturnType<typeof createBanMarks>;
export const NO_MARK = NONE;
