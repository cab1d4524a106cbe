// The per-event "is this ip_key banned?" lookup: bounded in memory, answered without a
// query for addresses never banned, and never blind to a ban another process (the CLI)
// wrote in the same database file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { createBanLookup } from '../../server/bans/ban-lookup.ts';
import { tempDir } from '../support/service.ts';

const HOUR = 3_600_000;
const ban = (ipKey: string, expiresMs: number) => ({
  ip_key: ipKey, jail: 'wordpress', reason: 'test', trigger_event_ids: null, ban_count: 1,
  created_at: new Date(expiresMs - HOUR).toISOString(), expires_at: new Date(expiresMs).toISOString(),
});

test('the cache stays within its bound over 50,000 distinct addresses, and every answer is right', () => {
  const store = createStore(openDatabase(':memory:'));
  const until = Date.now() + HOUR;
  for (let i = 0; i < 50_000; i += 7) store.insertBan(ban(`10.0.${i >> 8}.${i & 255}`, until));
  const lookup = createBanLookup(store, 1_000);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 50_000; i++) {
      const found = lookup.get(`10.0.${i >> 8}.${i & 255}`);
      assert.equal(found?.expiresAtMs ?? null, i % 7 === 0 ? until : null, `10.0.${i >> 8}.${i & 255}`);
      assert.ok(lookup.size() <= 1_000);
    }
  }
});

test('addresses never banned are answered without a query; banned ones from SQLite', () => {
  const store = createStore(openDatabase(':memory:'));
  store.insertBan(ban('192.0.2.1', Date.now() + HOUR));
  let queries = 0;
  const counting = { ...store, furthestActiveBan: (ipKey: string) => (queries++, store.furthestActiveBan(ipKey)) };
  const lookup = createBanLookup(counting, 100);
  while (!lookup.warmUp(1)); // one key per chunk: the paging must not skip any
  for (let i = 0; i < 1_000; i++) assert.equal(lookup.get(`198.51.${i >> 8}.${i & 255}`), null);
  assert.ok(queries < 50, `${queries} queries for 1,000 never-banned addresses`);
  assert.equal(lookup.get('192.0.2.1')?.jail, 'wordpress');
});

test('a ban written by our own process is seen once its writer forgets the key', () => {
  const store = createStore(openDatabase(':memory:'));
  const lookup = createBanLookup(store, 100);
  assert.equal(lookup.get('203.0.113.9'), null);
  store.insertBan(ban('203.0.113.9', Date.now() + HOUR));
  lookup.forget('203.0.113.9');
  assert.equal(lookup.get('203.0.113.9')?.jail, 'wordpress');
});

test('a ban another process committed is seen from the next turn, before the audit log is followed', async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgejail.db');
    const ours = createStore(openDatabase(file));
    const cli = createStore(openDatabase(file));
    const lookup = createBanLookup(ours, 100);
    assert.ok(lookup.warmUp(100));
    assert.equal(lookup.get('203.0.113.49'), null);
    // Never looked up, so not cached; and not in the filter, which only the audit log would fill.
    cli.insertBan(ban('203.0.113.50', Date.now() + HOUR));
    // data_version is read once per synchronous run, so a batch being handled right now
    // answers from the version it started with; the next one sees the ban.
    await new Promise((r) => setImmediate(r));
    assert.equal(lookup.get('203.0.113.50')?.jail, 'wordpress');
    assert.equal(lookup.get('203.0.113.51'), null);
  } finally {
    tmp.cleanup();
  }
});
