// The page cache is part of the memory budget: better-sqlite3's build default (16 MB per
// connection) must not come back unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/store/db.ts';

test('a connection keeps SQLite\'s page cache at 2 MB, not the 16 MB better-sqlite3 builds in', () => {
  const db = openDatabase(':memory:');
  try {
    assert.equal(db.pragma('cache_size', { simple: true }), -2000);
  } finally {
    db.close();
  }
});
