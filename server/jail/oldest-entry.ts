// The first entry of a Map kept in least-recently-used order (delete and set again on use),
// taken by a cursor that is kept across calls: a fresh keys().next() after many deletions
// walks the deleted slots V8 leaves at a Map's front until its next rehash, which is
// quadratic under a flood of new keys. Every entry the cursor has passed was deleted when
// it was taken, and re-set entries go to the end, so the cursor's next entry is the oldest.
export function oldestEntryTaker<K, V>(map: Map<K, V>): () => [K, V] | null {
  let cursor: Iterator<[K, V]> | null = null;
  return () => {
    for (let pass = 0; pass < 2; pass++) {
      cursor ??= map.entries();
      const oldest = cursor.next();
      if (!oldest.done) {
        map.delete(oldest.value[0]);
        return oldest.value;
      }
      cursor = null; // an iterator that has run out stays done: start over
    }
    return null;
  };
}
