import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLruKeyIndex, NO_SLOT, type IndexKey } from '../../server/jail/lru-key-index.ts';

const order = (index: ReturnType<typeof createLruKeyIndex>): IndexKey[] => {
  const keys: IndexKey[] = [];
  for (let slot = index.oldest(); slot !== NO_SLOT; slot = index.newer(slot)) keys.push(index.keyOf(slot));
  return keys;
};

test('keys come back by slot, least recently touched first, ints and strings in one order', () => {
  const index = createLruKeyIndex(4096);
  index.add(-1062731775, 0); // 192.168.0.1 as an int32
  index.add('2001:db8::/64', 1);
  index.add(0, 2);
  index.touch(0);
  assert.deepEqual(order(index), ['2001:db8::/64', 0, -1062731775]);
  assert.equal(index.get(-1062731775), 0);
  assert.equal(index.get('2001:db8::/64'), 1);
  assert.equal(index.get(7), NO_SLOT);
  assert.equal(index.get('7'), NO_SLOT, 'a string key is never taken for the int with its digits');
  index.remove(1);
  assert.deepEqual(order(index), [0, -1062731775]);
  assert.equal(index.size, 2);
});

test('agrees with a Map kept in least-recently-used order over a long random run, through growth, collisions and shrinking', () => {
  const index = createLruKeyIndex(1 << 12); // small reservation: the columns also move
  const model = new Map<IndexKey, number>();
  const freeSlots: number[] = [];
  let nextSlot = 0;
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  // Keys a multiple of 2^22 apart share their home position in a small table, so probe chains are long.
  const keyOf = (n: number): IndexKey => (n % 5 === 0 ? `k${n}` : ((n * 4_194_304) | 0) ^ (n & 7));
  for (let step = 0; step < 60_000; step++) {
    const phase = step < 30_000 ? 6 : 2; // grow, then drain
    const key = keyOf(random(step < 30_000 ? 20_000 : 25_000));
    const slot = model.get(key);
    const op = random(10);
    if (slot === undefined) {
      assert.equal(index.get(key), NO_SLOT);
      if (op < phase) {
        const s = freeSlots.pop() ?? nextSlot++;
        index.add(key, s);
        model.set(key, s);
      }
    } else {
      assert.equal(index.get(key), slot);
      if (op < phase) {
        index.touch(slot);
        model.delete(key);
        model.set(key, slot);
      } else {
        index.remove(slot);
        model.delete(key);
        freeSlots.push(slot);
      }
    }
    if (step % 10_000 === 9_999) {
      assert.deepEqual(order(index), [...model.keys()]);
      assert.equal(index.size, model.size);
    }
  }
  while (index.oldest() !== NO_SLOT) {
    const s = index.oldest();
    assert.equal(model.get(index.keyOf(s)), s);
    model.delete(index.keyOf(s));
    index.remove(s);
  }
  assert.equal(model.size, 0);
  assert.equal(index.size, 0);
});
