import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWindowStore, NO_WINDOW, packKey, unpackKey, type WindowEntryInput } from '../../server/jail/window-store.ts';

const entry = (over: Partial<WindowEntryInput> = {}): WindowEntryInput => ({
  seq: 0, t: 0, attempts: 1, counted: 1, label: 'login_failed', siteId: 'site-1', username: null, ...over,
});

const times = (store: ReturnType<typeof createWindowStore>, w: number) => store.slots(w).map((s) => store.t(s));

test('a seq reads back exactly as it was given, up to 2^53, and a reused slot reads its new one', () => {
  const store = createWindowStore(2);
  const w = store.touch('198.51.100.1', 0);
  const seqs = [1, 0, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, 42];
  const slots = seqs.map((seq, i) => store.insert(w, entry({ seq, t: i })));
  assert.deepEqual(slots.map((s) => store.seq(s)), seqs);
  for (const [first, second] of [[7, 8], [9, 0], [0, 10]]) {
    store.dropOlderThan(w, Infinity);
    store.insert(w, entry({ seq: first!, t: 1 }));
    store.dropOlderThan(w, 1); // frees the slot the next insert takes
    const slot = store.insert(w, entry({ seq: second!, t: 2 }));
    assert.equal(store.seq(slot), second);
  }
});

test('entries stay in time order, a later one after others of the same time', () => {
  const store = createWindowStore(2, 2);
  const w = store.touch('k', 0);
  for (const [t, seq] of [[5, 1], [1, 2], [9, 3], [5, 4], [0, 5], [9, 6]] as const) store.insert(w, entry({ t, seq }));
  assert.deepEqual(times(store, w), [0, 1, 5, 5, 9, 9]);
  assert.deepEqual(store.slots(w).map((s) => store.seq(s)), [5, 2, 1, 4, 3, 6]);
  assert.equal(store.t(store.last(w)), 9);
  assert.equal(store.seq(store.last(w)), 6);
  assert.equal(store.count(w), 6);
  assert.equal(store.sum(w), 6);
});

test('removing entries keeps the sum, the count and the last entry right', () => {
  const store = createWindowStore();
  const w = store.touch('k', 0);
  store.insert(w, entry({ t: 1, counted: 2, username: 'alice' }));
  store.insert(w, entry({ t: 2, counted: 3, username: 'bob' }));
  store.insert(w, entry({ t: 3, counted: 4, username: 'alice' }));
  store.removeUsername(w, 'alice', 'site-1');
  assert.deepEqual(times(store, w), [2]);
  assert.equal(store.sum(w), 3);
  assert.equal(store.t(store.last(w)), 2);
  store.insert(w, entry({ t: 7 }));
  assert.deepEqual(times(store, w), [2, 7], 'a later entry goes after the new last one');
  store.removeUsername(w, 'bob', 'other-site');
  assert.equal(store.count(w), 2, 'another site’s username is not this one');
  store.removeLabelled(w, 'login_failed', 7);
  assert.deepEqual(times(store, w), [2]);
});

test('dropping from the front: by age, and down to what maxretry needs', () => {
  const store = createWindowStore();
  const w = store.touch('k', 0);
  for (let t = 1; t <= 6; t++) store.insert(w, entry({ t, counted: 2 }));
  store.dropOlderThan(w, 2);
  assert.deepEqual(times(store, w), [3, 4, 5, 6]);
  store.dropFirstWhileSumStays(w, 3);
  assert.deepEqual(times(store, w), [5, 6], 'two entries of 2 are the fewest that reach 3');
  store.dropFirstWhileSumStays(w, 1);
  assert.deepEqual(times(store, w), [6], 'one entry always stays');
  store.dropOlderThan(w, 10);
  assert.equal(store.count(w), 0);
  assert.equal(store.last(w), -1);
});

test('keys are least recently updated first: eviction takes the oldest, pruning stops at a recent one', () => {
  const store = createWindowStore(1, 1);
  for (const [key, t] of [['a', 1], ['b', 2], ['c', 3]] as const) store.insert(store.touch(key, t), entry({ t }));
  store.insert(store.touch('a', 4), entry({ t: 4 }));
  assert.deepEqual([...store.keys()], ['b', 'c', 'a']);
  assert.equal(store.evictOldest(), 'b', 'the key evicted is named, so a rollback can restore it');
  assert.deepEqual([...store.keys()], ['c', 'a']);
  store.insert(store.touch('d', 5), entry({ t: 5 }));
  store.pruneOlderThan(3);
  assert.deepEqual([...store.keys()], ['a', 'd'], 'c had nothing after 3; a was updated at 4');
  // The pass stops at the first recently updated key: a keeps its old entry until it is next counted.
  assert.deepEqual(times(store, store.get('a')), [1, 4]);
  assert.equal(store.evictOldest(), 'a');
  assert.equal(store.evictOldest(), 'd');
  assert.equal(store.evictOldest(), null);
  assert.equal(store.get('a'), NO_WINDOW);
  store.insert(store.touch('e', 6), entry({ t: 6 }));
  assert.ok(store.evictOldest(), 'eviction starts over once the store has emptied');
  assert.equal(store.size, 0);
});

test('slots and interned usernames are given back: a flood of guessed names leaves nothing behind', () => {
  const store = createWindowStore(4, 4);
  for (let i = 0; i < 10_000; i++) {
    const w = store.touch(`198.51.${i >> 8}.${i & 255}`, i);
    store.insert(w, entry({ t: i, username: `guess-${i}`, seq: i + 1 }));
  }
  assert.deepEqual(store.stats(), { entries: 10_000, usernames: 10_000 });
  store.pruneOlderThan(10_000);
  assert.equal(store.size, 0);
  assert.deepEqual(store.stats(), { entries: 0, usernames: 0 });
  // Reused slots read back their own seqs, not a previous tenant's.
  const w = store.touch('k', 0);
  const slot = store.insert(w, entry({ seq: 123_456, username: 'guess-1' }));
  assert.equal(store.seq(slot), 123_456);
  assert.deepEqual(store.stats(), { entries: 1, usernames: 1 });
});

test('canonical IPv4 keys are kept as int32s and read back exactly; every other key stays a string', () => {
  for (const ip of ['0.0.0.0', '1.2.3.4', '10.0.0.255', '127.0.0.1', '192.168.100.200', '255.255.255.255', '128.0.0.0']) {
    const packed = packKey(ip);
    assert.equal(typeof packed, 'number', ip);
    assert.ok(Number.isInteger(packed) && (packed as number) >= -(2 ** 31) && (packed as number) < 2 ** 31, `${ip}: an int32`);
    assert.equal(unpackKey(packed), ip);
  }
  assert.notEqual(packKey('1.2.3.4'), packKey('1.2.3.5'));
  for (const key of ['01.2.3.4', '1.2.3.04', '1.2.3.256', '1.2.3', '1.2.3.4.5', '.1.2.3', '1.2.3.', '1..2.3', '1.2.3.x', ' 1.2.3.4', '2001:db8::/64', 'site-1\u00001.2.3.4', '', '1.2.3.4 ']) {
    assert.equal(packKey(key), key, JSON.stringify(key));
  }
  const store = createWindowStore();
  for (const key of ['203.0.113.7', '2001:db8:1:2::/64', 'site-1\u0000203.0.113.7']) store.insert(store.touch(key, 1), entry({ t: 1 }));
  assert.deepEqual([...store.keys()], ['203.0.113.7', '2001:db8:1:2::/64', 'site-1\u0000203.0.113.7']);
  assert.ok(store.has('203.0.113.7'));
  assert.equal(store.has('203.0.113.8'), false);
  store.delete('203.0.113.7');
  assert.equal(store.get('203.0.113.7'), NO_WINDOW);
  assert.equal(store.size, 2);
});
