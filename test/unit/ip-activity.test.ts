// The per-address lookups (an IP's history, when it was last seen, whether a site reported
// it) read ip_activity, which each transaction fills from the events it inserted, instead
// of an index on events(ip_key) that every commit dirtied a page of per address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ROOT } from '../support/process.ts';
import { listMigrations, migrate, openDatabase } from '../../server/store/db.ts';
import { createStore, HISTORY_SCAN_ROWS, type NewEvent } from '../../server/store/store.ts';
import { createEnforcementStore } from '../../server/store/enforcement.ts';
import { tempDir } from '../support/service.ts';

function setUp() {
  const db = openDatabase(':memory:');
  const store = createStore(db);
  for (const id of ['a', 'b']) store.insertSite({ id, name: id, secret: 'x', created_at: '2026-01-01T00:00:00.000Z' });
  return { db, store, enforcement: createEnforcementStore(db) };
}

function event(ipKey: string, at: string, over: Partial<NewEvent> = {}): NewEvent {
  return {
    id: randomUUID(), site_id: 'a', type: 'login_failed', ip: ipKey, ip_key: ipKey, username: 'admin', user_agent: null, path: null,
    weight: 1, occurred_at: at, received_at: at, ignored_reason: null, ...over,
  };
}

test("an address's history spans hours and sites, newest first, and stops at the limit", () => {
  const { store } = setUp();
  store.transaction(() => {
    store.insertEvent(event('192.0.2.1', '2026-03-01T10:05:00.000Z'));
    store.insertEvent(event('192.0.2.2', '2026-03-01T10:06:00.000Z'));
    store.insertEvent(event('192.0.2.1', '2026-03-01T10:59:00.000Z', { site_id: 'b' }));
  });
  store.transaction(() => {
    for (let i = 0; i < 5; i++) store.insertEvent(event('192.0.2.1', `2026-03-01T12:0${i}:00.000Z`));
    store.insertEvent(event('192.0.2.2', '2026-03-01T12:30:00.000Z'));
  });
  const all = store.eventsForIpKey('192.0.2.1');
  assert.equal(all.length, 7);
  assert.ok(all.every((e) => e.ip_key === '192.0.2.1'));
  assert.deepEqual(all.map((e) => e.occurred_at), [...all.map((e) => e.occurred_at)].sort().reverse());
  assert.deepEqual(new Set(all.map((e) => e.site_id)), new Set(['a', 'b']));
  assert.deepEqual(store.eventsForIpKey('192.0.2.1', 3).map((e) => e.occurred_at), ['2026-03-01T12:04:00.000Z', '2026-03-01T12:03:00.000Z', '2026-03-01T12:02:00.000Z']);
  assert.deepEqual(store.eventsForIpKey('198.51.100.9'), []);
});

test('an event written outside a transaction is found too', () => {
  const { store, enforcement } = setUp();
  store.insertEvent(event('192.0.2.3', '2026-03-01T10:00:00.000Z'));
  assert.equal(store.eventsForIpKey('192.0.2.3').length, 1);
  assert.equal(enforcement.lastSeen('192.0.2.3'), '2026-03-01T10:00:00.000Z');
});

// 1 and 10 events a batch: a few are bound row by row, more read back with one statement.
for (const n of [1, 10]) {
  test(`a batch rolled back to its savepoint leaves no activity behind (${n} a batch)`, () => {
    const { store, enforcement } = setUp();
    store.transaction(() => {
      assert.throws(() =>
        store.transaction(() => {
          for (let i = 0; i < n; i++) store.insertEvent(event('192.0.2.5', '2026-03-01T09:00:00.000Z'));
          throw new Error('the first batch fails');
        }),
      );
      for (let i = 0; i < n; i++) store.insertEvent(event('192.0.2.4', '2026-03-01T10:00:00.000Z'));
      assert.throws(() =>
        store.transaction(() => {
          for (let i = 0; i < n; i++) store.insertEvent(event('192.0.2.4', '2026-03-01T11:00:00.000Z'));
          store.insertEvent(event('192.0.2.5', '2026-03-01T11:00:00.000Z'));
          throw new Error('this batch fails');
        }),
      );
    });
    assert.equal(enforcement.lastSeen('192.0.2.4'), '2026-03-01T10:00:00.000Z', 'the rolled-back later event is not "seen"');
    assert.equal(enforcement.lastSeen('192.0.2.5'), null);
    assert.equal(store.eventsForIpKey('192.0.2.4').length, n);
    assert.equal(store.eventCountOfIpKey('192.0.2.4'), n);
  });
}

test('last seen is the latest occurred_at over every site, spooled events included', () => {
  const { store, enforcement } = setUp();
  store.transaction(() => {
    store.insertEvent(event('192.0.2.6', '2026-03-01T10:00:00.000Z'));
    // Spooled: it happened before the first, and arrived an hour later.
    store.insertEvent(event('192.0.2.6', '2026-03-01T09:00:00.000Z', { site_id: 'b', received_at: '2026-03-01T11:00:00.000Z' }));
  });
  assert.equal(enforcement.lastSeen('192.0.2.6'), '2026-03-01T10:00:00.000Z');
});

test("a site's report counts for self-unlock, in the same transaction too; another site's or a self-unlock does not", () => {
  const { store } = setUp();
  const since = '2026-03-01T00:00:00.000Z';
  store.transaction(() => {
    store.insertEvent(event('192.0.2.7', '2026-03-01T10:00:00.000Z'));
    assert.equal(store.siteReportedIpKeySince('a', '192.0.2.7', since), true, 'seen before the commit');
  });
  assert.equal(store.siteReportedIpKeySince('a', '192.0.2.7', since), true);
  assert.equal(store.siteReportedIpKeySince('b', '192.0.2.7', since), false);
  assert.equal(store.siteReportedIpKeySince('a', '192.0.2.7', '2026-03-01T10:00:00.001Z'), false, 'too long ago');
  store.insertEvent(event('192.0.2.8', '2026-03-01T10:00:00.000Z', { type: 'self_unlock', ignored_reason: 'self_unlock' }));
  assert.equal(store.siteReportedIpKeySince('a', '192.0.2.8', since), false);
});

test('purge removes the activity of the hours it emptied, and keeps the rest', () => {
  const { db, store } = setUp();
  store.transaction(() => {
    store.insertEvent(event('192.0.2.9', '2026-03-01T08:00:00.000Z'));
    store.insertEvent(event('192.0.2.10', '2026-03-01T09:10:00.000Z'));
    store.insertEvent(event('192.0.2.9', '2026-03-01T12:00:00.000Z'));
  });
  const before = '2026-03-01T10:00:00.000Z';
  while (store.purgeEventsChunk(before, 1) === 1);
  assert.equal(store.purgeActivity(before, '2026-03-01T12:30:00.000Z', 1), 2);
  assert.deepEqual(db.prepare('SELECT hour, ip_key FROM ip_activity').all(), [{ hour: '2026-03-01T12', ip_key: '192.0.2.9' }]);
  assert.deepEqual(store.eventsForIpKey('192.0.2.10'), []);
  assert.equal(store.eventsForIpKey('192.0.2.9').length, 1);
});

test('rows a clock run ahead made first do not stop the purge for good', () => {
  const { db, store } = setUp();
  // The clock stood a year ahead, then was put right.
  for (let i = 0; i < 3; i++) store.insertEvent(event(`192.0.2.${20 + i}`, '2027-03-01T08:00:00.000Z'));
  store.insertEvent(event('192.0.2.30', '2026-03-01T08:00:00.000Z'));
  store.insertEvent(event('192.0.2.31', '2026-03-01T12:00:00.000Z'));
  assert.equal(store.purgeActivity('2026-03-01T10:00:00.000Z', '2026-03-01T12:30:00.000Z', 2), 1);
  assert.deepEqual(db.prepare('SELECT ip_key FROM ip_activity ORDER BY id').pluck().all(), ['192.0.2.20', '192.0.2.21', '192.0.2.22', '192.0.2.31']);
});

test('a process whose database a newer edgejail migrated under it stops writing', () => {
  const { db, store } = setUp();
  const version = db.pragma('user_version', { simple: true }) as number;
  db.pragma(`user_version = ${version + 1}`);
  assert.throws(() => store.insertEvent(event('192.0.2.40', '2026-03-01T08:00:00.000Z')), /upgraded to schema \d+ by a newer edgejail while this one ran on \d+: restart it/);
  assert.equal(store.countEvents(), 0);
});

test('the migration fills ip_activity from the events already stored', () => {
  const tmp = tempDir('edgejail-activity-');
  try {
    const file = join(tmp.dir, 'edgejail.db');
    const old = new Database(file);
    migrate(old, listMigrations().filter((m) => m.version <= 10));
    old.prepare("INSERT INTO sites (id, name, secret, created_at) VALUES ('a', 'a', 'x', '2026-01-01T00:00:00Z')").run();
    const insert = old.prepare(`INSERT INTO events (id, site_id, type, ip, ip_key, weight, occurred_at, received_at)
      VALUES (?, 'a', 'login_failed', ?, ?, 1, ?, ?)`);
    for (const [ip, at] of [['192.0.2.11', '2026-03-01T10:00:00.000Z'], ['192.0.2.11', '2026-03-01T11:00:00.000Z'], ['192.0.2.12', '2026-03-01T11:30:00.000Z']]) {
      insert.run(randomUUID(), ip, ip, at, at);
    }
    old.close();
    const db = openDatabase(file);
    const store = createStore(db);
    assert.equal(store.eventsForIpKey('192.0.2.11').length, 2);
    assert.equal(createEnforcementStore(db).lastSeen('192.0.2.12'), '2026-03-01T11:30:00.000Z');
    assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'events_ip_key_time'").get() as { n: number }).n, 0);
    db.close();
  } finally {
    tmp.cleanup();
  }
});

test("the README's every-attempt-from-an-IP query returns each event once, in order", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const sql = /Every attempt from an IP:\n\n```sql\n([\s\S]+?)```/.exec(readme)?.[1];
  assert.ok(sql, 'the query is in the README');
  const { db, store } = setUp();
  store.transaction(() => {
    store.insertEvent(event('203.0.113.7', '2026-03-01T10:59:59.000Z'));
    store.insertEvent(event('198.51.100.1', '2026-03-01T11:00:00.000Z'));
    store.insertEvent(event('203.0.113.7', '2026-03-01T11:00:01.000Z', { site_id: 'b' }));
  });
  store.insertEvent(event('203.0.113.7', '2026-03-01T11:30:00.000Z'));
  const rows = db.prepare(sql).all() as Array<{ occurred_at: string; site_id: string }>;
  assert.deepEqual(rows.map((r) => [r.occurred_at, r.site_id]), [
    ['2026-03-01T10:59:59.000Z', 'a'],
    ['2026-03-01T11:00:01.000Z', 'b'],
    ['2026-03-01T11:30:00.000Z', 'a'],
  ]);
});

test('a second commit in the same hour widens that hour\'s row', () => {
  const { db, store } = setUp();
  store.transaction(() => store.insertEvent(event('192.0.2.13', '2026-03-01T10:10:00.000Z')));
  store.transaction(() => store.insertEvent(event('192.0.2.14', '2026-03-01T10:20:00.000Z')));
  store.transaction(() => store.insertEvent(event('192.0.2.13', '2026-03-01T10:30:00.000Z', { type: 'self_unlock', ignored_reason: 'self_unlock' })));
  const row = db.prepare("SELECT first_seq, last_seq, events, last_occurred_at, last_reported_at FROM ip_activity WHERE ip_key = '192.0.2.13'").get();
  assert.deepEqual(row, { first_seq: 1, last_seq: 3, events: 2, last_occurred_at: '2026-03-01T10:30:00.000Z', last_reported_at: '2026-03-01T10:10:00.000Z' });
  assert.equal(store.eventCountOfIpKey('192.0.2.13'), 2);
  assert.equal(store.eventsForIpKey('192.0.2.13').length, 2, 'the other address inside the range is not listed');
});

test("a history reads at most HISTORY_SCAN_ROWS rows, the newest, and the count says how many there are", () => {
  const { store } = setUp();
  const at = '2026-03-01T10:00:00.000Z';
  store.transaction(() => {
    store.insertEvent(event('192.0.2.15', at));
    for (let i = 0; i < HISTORY_SCAN_ROWS; i++) store.insertEvent(event('198.51.100.20', at));
    store.insertEvent(event('192.0.2.15', at));
  });
  assert.equal(store.eventsForIpKey('192.0.2.15').length, 1, 'the oldest one lies past the rows it reads');
  assert.equal(store.eventCountOfIpKey('192.0.2.15'), 2);
});

test('a database from a newer edgejail is refused before anything is written', () => {
  const db = new Database(':memory:');
  migrate(db);
  db.pragma('user_version = 999');
  assert.throws(() => migrate(db), /schema is version 999, newer than this edgejail knows \(\d+\)/);
});

test('removing a site takes its events and their activity with it, with no index by site (migration 012)', () => {
  const { db, store } = setUp();
  store.transaction(() => {
    for (let i = 0; i < 5; i++) store.insertEvent(event(`192.0.2.${50 + i}`, '2026-03-01T10:00:00.000Z'));
    store.insertEvent(event('192.0.2.60', '2026-03-01T10:00:00.000Z', { site_id: 'b' }));
  });
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'events_site_time'").pluck().get(), 0);
  assert.equal(store.removeSite('a'), true);
  assert.equal(store.countEvents(), 1);
  assert.deepEqual(db.prepare('SELECT site_id, ip_key FROM ip_activity').all(), [{ site_id: 'b', ip_key: '192.0.2.60' }]);
  assert.equal(store.eventsForIpKey('192.0.2.50').length, 0);
  assert.equal(store.eventsForIpKey('192.0.2.60').length, 1);
});

test('a rebuild reads only the hours that can hold its events, and the keys of one rebuild share a scan budget', () => {
  const { store } = setUp();
  store.transaction(() => {
    store.insertEvent(event('192.0.2.16', '2026-03-01T06:00:00.000Z'));
    for (let i = 0; i < 1000; i++) store.insertEvent(event('198.51.100.21', '2026-03-01T06:00:01.000Z'));
    store.insertEvent(event('192.0.2.16', '2026-03-01T06:00:02.000Z'));
  });
  store.transaction(() => {
    store.insertEvent(event('192.0.2.16', '2026-03-01T10:00:00.000Z'));
    for (let i = 0; i < 100; i++) store.insertEvent(event('198.51.100.21', '2026-03-01T10:00:01.000Z'));
    store.insertEvent(event('192.0.2.16', '2026-03-01T10:00:02.000Z'));
    store.insertEvent(event('192.0.2.17', '2026-03-01T10:00:03.000Z'));
  });
  const since = '2026-03-01T09:55:00.000Z';
  const scan = { rows: 1000 };
  assert.equal(store.countedEventsOfIpKeySince('192.0.2.16', since, 100, scan).length, 2);
  assert.equal(scan.rows, 1000 - 102, "the 10:00 hour's seq range is read, the 06:00 hour's is not");
  scan.rows = 0;
  assert.deepEqual(store.countedEventsOfIpKeySince('192.0.2.17', since, 100, scan), [], 'nothing left to read for the next key');
  assert.equal(store.countedEventsOfIpKeySince('192.0.2.17', since, 100).length, 1, 'on its own it reads its own budget');
});
