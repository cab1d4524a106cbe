import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGrowableColumns } from '../../server/jail/growable-columns.ts';

test('columns grow in place within their reservation: same arrays, values kept, new slots zero', () => {
  const columns = createGrowableColumns(4, 1 << 16);
  const times = columns.add(Float64Array);
  const ids = columns.add(Uint8Array, 16);
  times[3] = 1.5;
  ids[3 * 16 + 15] = 7;
  const before = columns.length;
  assert.equal(columns.grow(), false);
  assert.ok(columns.length > before);
  assert.equal(times.length, columns.length, 'the array follows its buffer');
  assert.equal(ids.length, columns.length * 16, 'a wide column grows by its width');
  assert.equal(columns.arrays[0], times);
  assert.equal(times[3], 1.5);
  assert.equal(ids[3 * 16 + 15], 7);
  assert.equal(times[columns.length - 1], 0);
});

test('past the reservation the columns move once, with every value, and say so', () => {
  const columns = createGrowableColumns(1024, 1024);
  const next = columns.add(Int32Array);
  const wide = columns.add(Uint8Array, 16);
  for (let i = 0; i < 1024; i++) {
    next[i] = -i - 1;
    wide[i * 16] = i & 0xff;
  }
  assert.equal(columns.grow(), true);
  const [movedNext, movedWide] = columns.arrays as [Int32Array, Uint8Array];
  assert.notEqual(movedNext, next);
  assert.equal(movedNext.length, columns.length);
  assert.equal(movedWide.length, columns.length * 16);
  for (let i = 0; i < 1024; i++) {
    assert.equal(movedNext[i], -i - 1);
    assert.equal(movedWide[i * 16], i & 0xff);
  }
  // The next growth has room again: in place.
  assert.equal(columns.grow(), false);
  assert.equal(columns.arrays[0], movedNext);
});

test('growth steps by a sixteenth (at least 1,024 slots), not by doubling', () => {
  const columns = createGrowableColumns(160_000);
  columns.add(Float64Array);
  columns.grow();
  assert.equal(columns.length, 170_000);
  const small = createGrowableColumns(16);
  small.add(Uint16Array);
  small.grow();
  assert.equal(small.length, 16 + 1024);
});
