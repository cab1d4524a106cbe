// A site's last_event_at moves by the second, not by the batch: each write dirtied the sites
// page in every commit. Readers (a metric's age, the silent-site alert) lag by under a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/store/db.ts';
import { createStore, TOUCH_SITE_EVERY_MS } from '../../server/store/store.ts';

function store() {
  const db = openDatabase(':memory:');
  const s = createStore(db);
  s.insertSite({ id: 's1', name: 'blog', secret: 'x', created_at: '2026-01-01T00:00:00.000Z' });
  s.insertSite({ id: 's2', name: 'shop', secret: 'y', created_at: '2026-01-01T00:00:00.000Z' });
  const stored = (id: string) => db.prepare('SELECT last_event_at FROM sites WHERE id = ?').pluck().get(id);
  const writes = () => db.prepare('SELECT total_changes()').pluck().get() as number;
  return { s, stored, writes };
}

const at = (ms: number) => new Date(Date.parse('2026-01-02T00:00:00.000Z') + ms).toISOString();

test('within a second of the last write, a batch leaves last_event_at and the sites page alone', () => {
  const { s, stored, writes } = store();
  s.touchSite('s1', at(0));
  assert.equal(stored('s1'), at(0));
  const before = writes();
  s.touchSite('s1', at(400));
  s.touchSite('s1', at(TOUCH_SITE_EVERY_MS - 1));
  assert.equal(writes(), before, 'no row written');
  assert.equal(stored('s1'), at(0));
  s.touchSite('s1', at(TOUCH_SITE_EVERY_MS));
  assert.equal(stored('s1'), at(TOUCH_SITE_EVERY_MS), 'a second on, it moves');
  // Each site keeps its own second; a time before the last write (a clock set back) is written.
  s.touchSite('s2', at(500));
  assert.equal(stored('s2'), at(500));
  s.touchSite('s1', at(-5_000));
  assert.equal(stored('s1'), at(-5_000));
});

test('a rolled-back write is not taken for a stored one: the next batch writes again', () => {
  const { s, stored } = store();
  s.transaction(() => {
    assert.throws(() => s.transaction(() => {
      s.touchSite('s1', at(0));
      throw new Error('batch failed');
    }), /batch failed/);
    s.touchSite('s1', at(10));
  });
  assert.equal(stored('s1'), at(10), 'the savepoint rolled back; the batch after it wrote');
  assert.throws(() => s.transaction(() => {
    s.touchSite('s1', at(2_000));
    throw new Error('group failed');
  }), /group failed/);
  assert.equal(stored('s1'), at(10));
  s.touchSite('s1', at(2_100));
  assert.equal(stored('s1'), at(2_100), 'after a whole transaction rolled back too');
});

test('a site added again under a removed id starts with no second of its own', () => {
  const { s, stored } = store();
  s.touchSite('s1', at(0));
  s.removeSite('s1');
  s.insertSite({ id: 's1', name: 'blog', secret: 'x', created_at: '2026-01-01T00:00:00.000Z' });
  s.touchSite('s1', at(100));
  assert.equal(stored('s1'), at(100));
});
