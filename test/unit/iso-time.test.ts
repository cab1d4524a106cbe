// The ingest path reads and writes event times through one-entry memos; a memo that
// answered a new input with the last one's result would misdate every event after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoOf, msOf } from '../../server/shared/iso-time.ts';

test('msOf is Date.parse, for repeats and for each new text', () => {
  const texts = ['2026-12-07T23:15:07+00:00', '2026-12-07T23:15:07+00:00', '2026-12-07T23:15:08.250Z', 'not a time', 'not a time', '2026-12-07T23:15:07+00:00'];
  for (const text of texts) {
    const want = Date.parse(text);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(msOf(text)), text);
    else assert.equal(msOf(text), want, text);
  }
});

test('isoOf is toISOString, for repeats and for each new instant', () => {
  for (const ms of [0, 0, 1_765_150_507_000, 1_765_150_507_001, 0]) assert.equal(isoOf(ms), new Date(ms).toISOString());
  assert.throws(() => isoOf(Number.NaN), RangeError);
});
