// State kept beside the rows (a quota in memory, a cache read inside the transaction) must
// go back with them: store.onRollback runs what a rolled-back transaction registered, once
// SQLite has rolled it back, and only then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';

const setUp = () => createStore(openDatabase(':memory:'));
const fail = () => {
  throw new Error('rolled back');
};

test('a savepoint rolled back runs its own hooks, newest first, after its rows are gone', () => {
  const store = setUp();
  const ran: string[] = [];
  store.transaction(() => {
    store.onRollback(() => ran.push('outer'));
    assert.throws(() => store.transaction(() => {
      store.insertSite({ id: 'a', name: 'a', secret: 'x', created_at: '2026-01-01T00:00:00.000Z' });
      store.onRollback(() => ran.push(`first, site ${store.listSites().length}`));
      store.onRollback(() => ran.push('second'));
      fail();
    }), /rolled back/);
    assert.deepEqual(ran, ['second', 'first, site 0']);
  });
  assert.deepEqual(ran, ['second', 'first, site 0'], 'the outer transaction committed: its hook is dropped');
});

test('a savepoint that committed is taken back by the transaction around it', () => {
  const store = setUp();
  const ran: string[] = [];
  assert.throws(() => store.transaction(() => {
    store.transaction(() => store.onRollback(() => ran.push('inner')));
    store.onRollback(() => ran.push('outer'));
    fail();
  }), /rolled back/);
  assert.deepEqual(ran, ['outer', 'inner']);
  store.transaction(() => store.transaction(() => store.onRollback(() => ran.push('again'))));
  assert.deepEqual(ran, ['outer', 'inner'], 'committed all the way out: nothing runs');
  assert.throws(() => store.transaction(() => {
    store.onRollback(() => ran.push('later'));
    fail();
  }), /rolled back/);
  assert.deepEqual(ran, ['outer', 'inner', 'later'], 'nor later, with the next transaction that rolls back');
});

test('a hook registered outside a transaction is dropped, and one that throws does not stop the rest', () => {
  const store = setUp();
  const ran: string[] = [];
  store.onRollback(() => ran.push('outside'));
  assert.throws(() => store.transaction(() => {
    store.onRollback(() => ran.push('kept'));
    store.onRollback(() => {
      throw new Error('the hook fails');
    });
    fail();
  }), /^Error: rolled back$/);
  assert.deepEqual(ran, ['kept']);
});

test('after SQLite rolled the whole transaction back, nothing more commits in its name', () => {
  const store = setUp();
  const ran: string[] = [];
  assert.throws(() => store.transaction(() => {
    // As a full disk does: the savepoint's statement fails and SQLite ends the transaction.
    assert.throws(() => store.transaction(() => store.db.exec('ROLLBACK')));
    assert.equal(store.db.inTransaction, false);
    assert.throws(() => store.transaction(() => {
      store.insertSite({ id: 'a', name: 'a', secret: 'x', created_at: '2026-01-01T00:00:00.000Z' });
      store.onRollback(() => ran.push('never registered'));
    }), /rolled back by SQLite/);
  }));
  assert.deepEqual(store.listSites(), [], 'the next batch did not commit on its own');
  assert.deepEqual(ran, []);
});
