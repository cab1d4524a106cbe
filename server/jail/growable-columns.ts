// Columns of typed arrays (one per field of a slot) that grow together, in place. Doubling
// into new arrays held old and new at once and left the old ones in malloc's heap, which
// glibc seldom gives back: 400,000 window entries (19 MB of slots) kept 36 MB resident.
// A resizable ArrayBuffer reserves address space and commits pages only as its length
// grows, so growth copies nothing and can step by a sixteenth. Past the reservation (a
// configuration far beyond the defaults) the columns move to a larger one, once per
// doubling. Plain data, no I/O.

export type Column = Float64Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Uint16Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>;
type ColumnType = { new (buffer: ArrayBuffer): Column; readonly BYTES_PER_ELEMENT: number };

/** Slots reserved per column before a move: address space only, pages are committed as used. */
const DEFAULT_RESERVED = 1 << 22;

interface Spec {
  Type: ColumnType;
  /** Elements per slot (16 for a UUID's bytes). */
  width: number;
}

export function createGrowableColumns(initialSlots: number, reservedSlots = DEFAULT_RESERVED) {
  const specs: Spec[] = [];
  const arrays: Column[] = [];
  let length = Math.max(1, initialSlots);
  let reserved = Math.max(length, reservedSlots);

  function allocate(spec: Spec, slots: number, reserve: number): Column {
    const bytesPerSlot = spec.Type.BYTES_PER_ELEMENT * spec.width;
    return new spec.Type(new ArrayBuffer(slots * bytesPerSlot, { maxByteLength: reserve * bytesPerSlot }));
  }

  return {
    /** Adds a column of `width` elements per slot; its array follows every later growth. */
    add<T extends Column>(Type: { new (buffer: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number }, width = 1): T {
      const spec = { Type, width };
      specs.push(spec);
      const array = allocate(spec, length, reserved);
      arrays.push(array);
      return array as T;
    },
    /** Slots each column holds now. */
    get length(): number {
      return length;
    },
    /**
     * Makes room for at least one more slot. True when the columns moved (past the
     * reservation): the caller must then take its arrays again from `arrays`.
     */
    grow(): boolean {
      const wanted = length + Math.max(1024, length >>> 4);
      if (wanted <= reserved) {
        for (let i = 0; i < arrays.length; i++) (arrays[i]!.buffer as ArrayBuffer).resize(wanted * specs[i]!.Type.BYTES_PER_ELEMENT * specs[i]!.width);
        length = wanted;
        return false;
      }
      reserved = Math.max(reserved, wanted) * 2;
      for (let i = 0; i < arrays.length; i++) {
        const moved = allocate(specs[i]!, wanted, reserved);
        (moved as Uint8Array<ArrayBuffer>).set(arrays[i] as Uint8Array<ArrayBuffer>); // same type: set copies element by element
        arrays[i] = moved;
      }
      length = wanted;
      return true;
    },
    /** Bytes the columns hold: committed pages, which process.memoryUsage() does not count for resizable buffers. */
    byteLength(): number {
      let bytes = 0;
      for (const array of arrays) bytes += array.byteLength;
      return bytes;
    },
    /** The columns in the order they were added. */
    arrays: arrays as readonly Column[],
  };
}

export type GrowableColumns = ReturnType<typeof createGrowableColumns>;
