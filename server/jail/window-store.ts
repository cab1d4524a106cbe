// One jail's windows (the counted entries of each key within findtime) in typed arrays.
// An object per entry, its UUID string, its lower-cased username and an object and array
// per key came to about 800 bytes a tracked key: at the 100,000 distinct addresses of a
// botnet that was most of the service's peak memory. Here an entry is 38 bytes of slots:
// an event is named by its sequence number in the events table (8 bytes, where its UUID
// took 16), usernames and sites are interned, and a key costs a few
// numbers (see lru-key-index.ts). Entries of a key form a linked list sorted by time; the
// index keeps keys in least-recently-updated order. Plain data, no I/O.

import { createGrowableColumns } from './growable-columns.ts';
import { formatIpv4, parseIpv4 } from './ip.ts';
import { createLruKeyIndex } from './lru-key-index.ts';

const NONE = -1;
export interface WindowEntryInput {
  /** The event's seq in the events table; 0 for none (a ban's entry). */
  seq: number;
  t: number;
  /** Raw attempts (the event's weight, or 1 for a ban); at most 2^32 − 1. */
  attempts: number;
  /** What it counts towards maxretry; at most 2^32 − 1 (5,000 × (2^20/2 + 1) fits). */
  counted: number;
  label: string;
  siteId: string | null;
  /** Lower-cased already. */
  username: string | null;
}

/** Interned strings with reference counts, so a flood of guessed usernames is freed with its entries. */
function createCountedInterner() {
  const idOf = new Map<string, number>();
  const values: Array<string | null> = [];
  const refs: number[] = [];
  const free: number[] = [];
  return {
    acquire(value: string): number {
      let id = idOf.get(value);
      if (id === undefined) {
        id = free.pop() ?? values.length;
        idOf.set(value, id);
        values[id] = value;
        refs[id] = 0;
      }
      refs[id]!++;
      return id;
    },
    release(id: number): void {
      if (--refs[id]! > 0) return;
      idOf.delete(values[id]!);
      values[id] = null;
      free.push(id);
    },
    value: (id: number): string => values[id]!,
    idOf: (value: string): number | undefined => idOf.get(value),
    get size(): number {
      return idOf.size;
    },
  };
}

/**
 * A window key that is a canonical dotted-quad IPv4 address, as an int32 (a small integer,
 * no heap object); any other key (IPv6 prefixes, site-scoped keys) as itself. At 100,000
 * attacking addresses the key strings were 3.2 MB of the heap. unpackKey gives the string back.
 */
export function packKey(key: string): string | number {
  const value = parseIpv4(key); // canonical only: no leading zeros, so formatIpv4 gives the key back
  return value === null ? key : value | 0;
}

export function unpackKey(key: string | number): string {
  return typeof key === 'string' ? key : formatIpv4(key >>> 0);
}

export function createWindowStore(initialEntries = 1024, initialWindows = 1024) {
  // Entries.
  const entryColumns = createGrowableColumns(initialEntries);
  let times = entryColumns.add(Float64Array);
  let attemptsOf = entryColumns.add(Uint32Array);
  let countedOf = entryColumns.add(Uint32Array);
  let labelOf = entryColumns.add(Uint16Array);
  let siteOf = entryColumns.add(Int32Array); // NONE: no site
  let userOf = entryColumns.add(Int32Array); // NONE: no username
  let seqOf = entryColumns.add(Float64Array); // 0: none
  let nextOf = entryColumns.add(Int32Array);
  let entryHighWater = 0;
  let freeEntry = NONE;

  // Windows.
  const windowReserve = 1 << 20;
  const windowColumns = createGrowableColumns(initialWindows, windowReserve);
  let headOf = windowColumns.add(Int32Array);
  let tailOf = windowColumns.add(Int32Array);
  let countOf = windowColumns.add(Uint32Array);
  let sumOf = windowColumns.add(Float64Array);
  let touchedOf = windowColumns.add(Float64Array);
  let windowHighWater = 0;
  const freeWindows: number[] = [];
  /** Window key (packed, see packKey) → its window, least recently updated first. */
  const byKey = createLruKeyIndex(windowReserve);

  // Labels (event types, jail names) and sites are few and live as long as the process.
  const labels: string[] = [];
  const labelIdOf = new Map<string, number>();
  const sites: string[] = [];
  const siteIdOf = new Map<string, number>();
  const usernames = createCountedInterner();

  function allocateEntry(): number {
    if (freeEntry !== NONE) {
      const slot = freeEntry;
      freeEntry = nextOf[slot]!;
      return slot;
    }
    if (entryHighWater === entryColumns.length && entryColumns.grow()) {
      [times, attemptsOf, countedOf, labelOf, siteOf, userOf, seqOf, nextOf] = entryColumns.arrays as [Float64Array<ArrayBuffer>, Uint32Array<ArrayBuffer>, Uint32Array<ArrayBuffer>, Uint16Array<ArrayBuffer>, Int32Array<ArrayBuffer>, Int32Array<ArrayBuffer>, Float64Array<ArrayBuffer>, Int32Array<ArrayBuffer>];
    }
    return entryHighWater++;
  }

  function freeEntrySlot(slot: number): void {
    if (userOf[slot] !== NONE) usernames.release(userOf[slot]!);
    nextOf[slot] = freeEntry;
    freeEntry = slot;
  }

  function allocateWindow(nowMs: number): number {
    let w = freeWindows.pop();
    if (w === undefined) {
      if (windowHighWater === windowColumns.length && windowColumns.grow()) {
        [headOf, tailOf, countOf, sumOf, touchedOf] = windowColumns.arrays as [Int32Array<ArrayBuffer>, Int32Array<ArrayBuffer>, Uint32Array<ArrayBuffer>, Float64Array<ArrayBuffer>, Float64Array<ArrayBuffer>];
      }
      w = windowHighWater++;
    }
    headOf[w] = NONE;
    tailOf[w] = NONE;
    countOf[w] = 0;
    sumOf[w] = 0;
    touchedOf[w] = nowMs;
    return w;
  }

  function releaseWindow(w: number): void {
    for (let slot = headOf[w]!; slot !== NONE; ) {
      const following = nextOf[slot]!;
      freeEntrySlot(slot);
      slot = following;
    }
    freeWindows.push(w);
  }

  // The last label and site asked for: a batch is one site's, and mostly one event type.
  let lastLabel = '';
  let lastLabelId = -1;
  let lastSite = '';
  let lastSiteId = -1;

  function intern(table: string[], index: Map<string, number>, value: string): number {
    let id = index.get(value);
    if (id === undefined) {
      id = table.length;
      table.push(value);
      index.set(value, id);
    }
    return id;
  }

  function labelId(label: string): number {
    if (label !== lastLabel || lastLabelId < 0) {
      lastLabelId = intern(labels, labelIdOf, label);
      lastLabel = label;
    }
    return lastLabelId;
  }

  function siteId(site: string): number {
    if (site !== lastSite || lastSiteId < 0) {
      lastSiteId = intern(sites, siteIdOf, site);
      lastSite = site;
    }
    return lastSiteId;
  }

  /** Unlinks the first entry of window w. */
  function dropFirst(w: number): void {
    const slot = headOf[w]!;
    sumOf[w]! -= countedOf[slot]!;
    headOf[w] = nextOf[slot]!;
    if (headOf[w] === NONE) tailOf[w] = NONE;
    countOf[w]!--;
    freeEntrySlot(slot);
  }

  const store = {
    get size(): number {
      return byKey.size;
    },
    /** The key's window, or -1. */
    get: (key: string): number => byKey.get(packKey(key)),
    has: (key: string): boolean => byKey.get(packKey(key)) !== NONE,
    *keys(): IterableIterator<string> {
      for (let w = byKey.oldest(); w !== NONE; w = byKey.newer(w)) yield unpackKey(byKey.keyOf(w));
    },

    /** The key's window (a new one if it has none), made the most recently updated. */
    touch(name: string, nowMs: number): number {
      const key = packKey(name);
      let w = byKey.get(key);
      if (w === NONE) {
        w = allocateWindow(nowMs);
        byKey.add(key, w);
      } else {
        byKey.touch(w);
        if (nowMs > touchedOf[w]!) touchedOf[w] = nowMs;
      }
      return w;
    },

    delete(name: string): void {
      const w = byKey.get(packKey(name));
      if (w === NONE) return;
      byKey.remove(w);
      releaseWindow(w);
    },

    /** Drops the least recently updated window and returns its key; null when there is none. */
    evictOldest(): string | null {
      const oldest = byKey.oldest();
      if (oldest === NONE) return null;
      const key = unpackKey(byKey.keyOf(oldest));
      byKey.remove(oldest);
      releaseWindow(oldest);
      return key;
    },

    /** Windows not updated after `cutoff` lose their entries up to it, and go when empty. Stops at the first later one. */
    pruneOlderThan(cutoff: number): void {
      for (let w = byKey.oldest(); w !== NONE; ) {
        const newer = byKey.newer(w);
        if (touchedOf[w]! > cutoff) break;
        store.dropOlderThan(w, cutoff);
        if (countOf[w] === 0) {
          byKey.remove(w);
          releaseWindow(w);
        }
        w = newer;
      }
    },

    count: (w: number): number => countOf[w]!,
    sum: (w: number): number => sumOf[w]!,
    first: (w: number): number => headOf[w]!,
    last: (w: number): number => tailOf[w]!,
    next: (slot: number): number => nextOf[slot]!,
    t: (slot: number): number => times[slot]!,
    counted: (slot: number): number => countedOf[slot]!,
    attempts: (slot: number): number => attemptsOf[slot]!,
    label: (slot: number): string => labels[labelOf[slot]!]!,
    seq: (slot: number): number => seqOf[slot]!,

    /** The window's entry slots in time order (for the rare walks that need positions). */
    slots(w: number): number[] {
      const out: number[] = [];
      for (let slot = headOf[w]!; slot !== NONE; slot = nextOf[slot]!) out.push(slot);
      return out;
    },

    /** Adds an entry after any with the same time (a window "ending at t" takes all of them); returns its slot. */
    insert(w: number, entry: WindowEntryInput): number {
      const slot = allocateEntry();
      times[slot] = entry.t;
      attemptsOf[slot] = entry.attempts;
      countedOf[slot] = entry.counted;
      labelOf[slot] = labelId(entry.label);
      siteOf[slot] = entry.siteId === null ? NONE : siteId(entry.siteId);
      userOf[slot] = entry.username === null ? NONE : usernames.acquire(entry.username);
      seqOf[slot] = entry.seq;
      sumOf[w]! += entry.counted;
      countOf[w]!++;
      const tail = tailOf[w]!;
      if (tail === NONE) {
        nextOf[slot] = NONE;
        headOf[w] = slot;
        tailOf[w] = slot;
      } else if (times[tail]! <= entry.t) {
        nextOf[slot] = NONE;
        nextOf[tail] = slot;
        tailOf[w] = slot;
      } else if (times[headOf[w]!]! > entry.t) {
        nextOf[slot] = headOf[w]!;
        headOf[w] = slot;
      } else {
        let before = headOf[w]!;
        while (times[nextOf[before]!]! <= entry.t) before = nextOf[before]!;
        nextOf[slot] = nextOf[before]!;
        nextOf[before] = slot;
      }
      return slot;
    },

    /** Drops entries with t <= cutoff (from the front: they are sorted). */
    dropOlderThan(w: number, cutoff: number): void {
      while (headOf[w] !== NONE && times[headOf[w]!]! <= cutoff) dropFirst(w);
    },

    /** Drops first entries while the rest still sum to at least `keep` and one would remain. */
    dropFirstWhileSumStays(w: number, keep: number): void {
      while (countOf[w]! > 1 && sumOf[w]! - countedOf[headOf[w]!]! >= keep) dropFirst(w);
    },

    /** Removes the entries of window w with this label and time (a lifted ban's). */
    removeLabelled(w: number, label: string, t: number): void {
      const id = labelIdOf.get(label);
      if (id === undefined) return;
      store.removeWhere(w, (slot) => labelOf[slot] === id && times[slot] === t);
    },

    /** Removes the entries of window w for this (lower-cased) username on this site. */
    removeUsername(w: number, username: string, siteId: string): void {
      const user = usernames.idOf(username);
      const site = siteIdOf.get(siteId);
      if (user === undefined || site === undefined) return;
      store.removeWhere(w, (slot) => userOf[slot] === user && siteOf[slot] === site);
    },

    removeWhere(w: number, drop: (slot: number) => boolean): void {
      let previous = NONE;
      for (let slot = headOf[w]!; slot !== NONE; ) {
        const following = nextOf[slot]!;
        if (drop(slot)) {
          if (previous === NONE) headOf[w] = following;
          else nextOf[previous] = following;
          if (tailOf[w] === slot) tailOf[w] = previous;
          sumOf[w]! -= countedOf[slot]!;
          countOf[w]!--;
          freeEntrySlot(slot);
        } else {
          previous = slot;
        }
        slot = following;
      }
    },

    /** Bytes of the entry and window slots and the key index (outside the JS heap). */
    slotBytes: (): number => entryColumns.byteLength() + windowColumns.byteLength() + byKey.byteLength(),

    /** Entry slots in use (allocated minus free), and usernames interned: for the bounds tests. */
    stats(): { entries: number; usernames: number } {
      let free = 0;
      for (let slot = freeEntry; slot !== NONE; slot = nextOf[slot]!) free++;
      return { entries: entryHighWater - free, usernames: usernames.size };
    },
  };
  return store;
}

export type WindowStore = ReturnType<typeof createWindowStore>;
export const NO_WINDOW = NONE;
export const NO_ENTRY = NONE;
