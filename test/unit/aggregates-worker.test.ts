// The dashboard's aggregates run in a worker thread: the same answers as the queries run
// inline, while the event loop stays free to ingest during the scan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { openDatabase } from '../../server/store/db.ts';
import { createDashboardQueries } from '../../server/store/dashboard-queries.ts';
import { createAggregates } from '../../server/store/aggregates.ts';
import { tempDir } from '../support/service.ts';

function seedEvents(db: ReturnType<typeof openDatabase>, n: number, atIso: string): void {
  db.prepare("INSERT INTO sites (id, name, secret, created_at) VALUES ('s', 'site', 'x', ?)").run(atIso);
  const insert = db.prepare(`INSERT INTO events (id, site_id, type, ip, ip_key, username, weight, occurred_at, received_at)
    VALUES (?, 's', 'login_failed', ?, ?, ?, 1, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      insert.run(`e${i}`, ip, ip, `user${i % 97}`, atIso, atIso);
    }
  })();
}

test('answers like the inline queries, from a worker, without holding the event loop', async () => {
  const tmp = tempDir();
  const db = openDatabase(join(tmp.dir, 'edgejail.db'));
  const aggregates = createAggregates(db, { idleMs: 200 });
  try {
    const now = new Date().toISOString();
    seedEvents(db, 150_000, now);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const inline = createDashboardQueries(db);

    // Count event-loop turns while the worker scans 150,000 events three times.
    let turns = 0;
    let scanning = true;
    const spin = (async () => {
      while (scanning) {
        await tick();
        turns++;
      }
    })();
    const started = performance.now();
    let answers;
    try {
      answers = await Promise.all([aggregates.topNetworks(since, 5), aggregates.topUsernames(since, 5), aggregates.totals(since)]);
    } finally {
      scanning = false;
      await spin;
    }
    const elapsed = performance.now() - started;
    const [networks, usernames, totals] = answers;

    assert.deepEqual(networks, inline.topNetworks(since, 5));
    assert.deepEqual(usernames, inline.topUsernames(since, 5));
    assert.deepEqual(totals, { attempts: 150_000, ips: 150_000, protected_ips: 0, ignored: 0 });
    // Inline, the loop would not turn at all during the scans; here it keeps turning.
    assert.ok(turns > 20, `${turns} event-loop turns in ${elapsed.toFixed(0)} ms of scanning`);
  } finally {
    await aggregates.close();
    db.close();
    tmp.cleanup();
  }
});

test('a query error is reported to its caller, and the worker keeps answering', async () => {
  const tmp = tempDir();
  const db = openDatabase(join(tmp.dir, 'edgejail.db'));
  const aggregates = createAggregates(db, { idleMs: 100 });
  try {
    // A limit SQLite cannot bind is an error in the worker, returned to this caller only.
    await assert.rejects(aggregates.recentAudit({} as unknown as number), /bind|argument|parameter|datatype|supports/i);
    assert.deepEqual(await aggregates.recentAudit(5), []);
    // Idle past idleMs the worker stops; the next question starts a new one.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await aggregates.activeBansByJail(), []);
  } finally {
    await aggregates.close();
    db.close();
    tmp.cleanup();
  }
});
