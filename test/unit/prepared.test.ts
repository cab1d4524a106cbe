// Statements are prepared on first use (server/store/prepared.ts): a store's creation must
// not prepare them all again by reading every one, as a `sql` listing built eagerly did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { createEnforcementStore } from '../../server/store/enforcement.ts';
import { createShieldStore } from '../../server/store/shields.ts';
import { createNotifyStore } from '../../server/store/notify.ts';
import { createLogOffsetStore } from '../../server/store/log-offsets.ts';
import { preparedOnFirstUse } from '../../server/store/prepared.ts';

function countingPrepares() {
  const db = openDatabase(':memory:');
  const prepared: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  return { db, prepared };
}

test('creating the stores prepares only the schema version they read at once', () => {
  const { db, prepared } = countingPrepares();
  createStore(db);
  createEnforcementStore(db);
  createShieldStore(db);
  createNotifyStore(db);
  createLogOffsetStore(db);
  assert.deepEqual(prepared, ['PRAGMA user_version']);
});

test('a statement is prepared on its first use, once', () => {
  const { db, prepared } = countingPrepares();
  const store = createStore(db);
  const before = prepared.length;
  assert.deepEqual(store.listSites(), []);
  assert.deepEqual(store.listSites(), []);
  assert.equal(prepared.length, before + 1);
  assert.match(prepared.at(-1)!, /FROM sites ORDER BY created_at/);
});

test('preparedOnFirstUse calls each maker once, on first read, and not for the others', () => {
  const calls: string[] = [];
  const s = preparedOnFirstUse({ a: () => (calls.push('a'), { n: 1 }), b: () => (calls.push('b'), { n: 2 }) });
  assert.deepEqual(calls, []);
  const first = s.a;
  assert.equal(s.a, first);
  assert.deepEqual(calls, ['a']);
  assert.deepEqual(Object.keys(s), ['a', 'b']);
});
