// A site's last_event_at moves by the second, not by the batch: each write dirtied the sites
// page in every commit. Readers (a metric's age, the silent-site alert) lag by under a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase } from '../../server/store/db.ts';
import { createStore, TOUCH_SITE_STEP_MS } from '../../server/store/store.ts';
import { tempDir } from '../support/service.ts';

function store(file = ':memory:') {
  const db = openDatabase(file);
  const s = createStore(db);
  s.insertSite({ id: 's1', name: 'blog', secret: 'x', created_at: '2026-01-01T00:00:00.000Z' });
  s.insertSite({ id: 's2', name: 'shop', secret: 'y', created_at: '2026-01-01T00:00:00.000Z' });
  const stored = (id: string) => db.prepare('SELECT last_event_at FROM sites WHERE id = ?').pluck().get(id);
  const writes = () => db.prepare('SELECT total_changes()').pluck().get() as number;
  return { db, s, stored, writes };
}

const at = (ms: number) => new Date(Date.parse('2026-01-02T00:00:00.000Z') + ms).toISOString();

test('within a second of the last write, a batch leaves last_event_at and the sites page alone', () => {
  const { s, stored, writes } = store();
  s.touchSite('s1', at(0));
  assert.equal(stored('s1'), at(0));
  const before = writes();
  s.touchSite('s1', at(400));
  // As ingest calls it: inside the store's transaction, a batch in a savepoint of the group's.
  s.transaction(() => s.transaction(() => s.touchSite('s1', at(600))));
  s.touchSite('s1', at(TOUCH_SITE_STEP_MS - 1));
  assert.equal(writes(), before, 'no row written');
  assert.equal(stored('s1'), at(0));
  s.transaction(() => s.touchSite('s1', at(TOUCH_SITE_STEP_MS)));
  assert.equal(stored('s1'), at(TOUCH_SITE_STEP_MS), 'a second on, it moves');
  s.transaction(() => s.touchSite('s1', at(TOUCH_SITE_STEP_MS + 10)));
  assert.equal(stored('s1'), at(TOUCH_SITE_STEP_MS), 'and what a transaction of ours wrote is remembered too');
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

test('a write that failed, or that a transaction not of this store rolled back, is not taken for stored', () => {
  const tmp = tempDir('edgejail-touch-');
  try {
    const file = join(tmp.dir, 'edgejail.db');
    const { db, s, stored } = store(file);
    // Another process holds the write lock: the write fails, and the next batch writes.
    const cli = openDatabase(file);
    db.pragma('busy_timeout = 0');
    cli.exec('BEGIN IMMEDIATE');
    assert.throws(() => s.touchSite('s1', at(0)), /locked|busy/i);
    cli.exec('ROLLBACK');
    cli.close();
    s.touchSite('s1', at(500));
    assert.equal(stored('s1'), at(500));
    // A transaction opened around ours by other code rolls back after ours returned.
    const foreign = db.transaction(() => {
      s.transaction(() => s.touchSite('s1', at(5_000)));
      throw new Error('the caller failed');
    });
    assert.throws(() => foreign(), /the caller failed/);
    assert.equal(stored('s1'), at(500));
    s.transaction(() => s.touchSite('s1', at(5_100)));
    assert.equal(stored('s1'), at(5_100), 'the rolled-back write was not remembered');
    db.close();
  } finally {
    tmp.cleanup();
  }
});
