// The load generators' event ids: version-7 UUIDs as the plugin makes them, all distinct
// although their random bytes come from a pool refilled every 256 ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pluginEventId } from '../../bench/lib/event-id.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('ids are version-7 UUIDs led by their millisecond, and none repeats across pool refills', () => {
  const at = Date.UTC(2026, 11, 8, 1, 2, 3, 4);
  const ids = Array.from({ length: 1_000 }, () => pluginEventId(at));
  for (const id of ids) assert.match(id, UUID_V7);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids[0]!.replace(/-/g, '').slice(0, 12), at.toString(16).padStart(12, '0'));
  // What follows the time is random: the ids of one millisecond differ past it.
  assert.equal(new Set(ids.map((id) => id.slice(-12))).size, ids.length);
});
