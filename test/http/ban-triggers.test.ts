// A ban lists the events that crossed the threshold. The jails name those events by their
// seq in the events table, and SQLite hands out a seq again once the rows holding the
// highest were deleted or rolled back, so a ban must never list another address's events
// under a reused seq: not after another process removed a site, not after a batch's
// savepoint rolled back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { databasePath } from '../../server/config/load.ts';
import { stageBatch } from '../../server/ingest/ingest-batch.ts';
import type { EventBatch } from '../../server/contract/events.ts';
import { addSite, attempt, postEvents, startService } from '../support/service.ts';

const triggersOf = (svc: Awaited<ReturnType<typeof startService>>, ipKey: string): string[] => {
  const ban = svc.app.core.store.activeBans().find((b) => b.ip_key === ipKey);
  assert.ok(ban, `${ipKey} is banned`);
  return JSON.parse(ban.trigger_event_ids!) as string[];
};

test("a site removed by another process: the ban lists the address's own stored events, never a reused seq's", async () => {
  const svc = await startService();
  try {
    const X = '203.0.113.7';
    const siteA = addSite(svc.app, 'a');
    assert.equal((await postEvents(svc.app, siteA, [1, 2, 3, 4].map(() => attempt(X)))).statusCode, 200);
    // The CLI, a process of its own, removes site a: its events go, and with them the highest seqs.
    const cli = createStore(openDatabase(databasePath(svc.config)));
    cli.transaction(() => cli.removeSite(siteA.id));
    cli.db.close();
    const other = attempt('198.51.100.9');
    const fifth = attempt(X);
    assert.equal((await postEvents(svc.app, svc.site, [other, fifth])).statusCode, 200);
    assert.deepEqual(triggersOf(svc, X), [fifth.id], 'the removed site\'s four are gone; the other address\'s event is not X\'s');
    const seqs = svc.app.core.db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[];
    assert.ok(seqs[0]! > 4, `seqs ${seqs.join(', ')} start past the removed ones`);
  } finally {
    await svc.close();
  }
});

test("a batch whose savepoint rolled back after it was judged: the next batches' events do not stand in for its own", async () => {
  const svc = await startService();
  try {
    const core = svc.app.core;
    const site = core.store.siteById(svc.site.id)!;
    const ctx = { store: core.store, bans: core.bans, ipv6Prefix: core.config.ipv6_prefix, ignoreLists: core.ignoreLists };
    const batch = (events: unknown[]) => ({ events }) as unknown as EventBatch;
    const Y = '203.0.113.8';
    const now = Date.now();
    // As the group commit runs a batch: in a savepoint of the group's transaction, here one that fails.
    core.bans.transaction(() => {
      assert.throws(() => core.bans.transaction(() => {
        stageBatch(ctx, site, batch([1, 2, 3, 4].map(() => attempt(Y))), now);
        throw new Error('the batch fails after its events were judged');
      }), /the batch fails/);
    });
    const z = [1, 2, 3, 4].map(() => attempt('192.0.2.55'));
    core.bans.transaction(() => stageBatch(ctx, site, batch(z), now));
    const y5 = attempt(Y);
    core.bans.transaction(() => stageBatch(ctx, site, batch([y5]), now));
    const triggers = triggersOf(svc, Y);
    assert.ok(!triggers.some((id) => z.some((e) => e.id === id)), `Y's ban lists none of Z's events: ${triggers.join(', ')}`);
    assert.deepEqual(triggers, [y5.id]);
  } finally {
    await svc.close();
  }
});

test("trigger ids are read back for the banned address only: a seq another process reused names someone else's event", async () => {
  const svc = await startService();
  try {
    const [w] = [attempt('198.51.100.20')];
    assert.equal((await postEvents(svc.app, svc.site, [w])).statusCode, 200);
    const store = svc.app.core.store;
    const seq = svc.app.core.db.prepare('SELECT seq FROM events WHERE id = ?').pluck().get(w!.id) as number;
    assert.deepEqual(store.eventIdsBySeq([seq], '198.51.100.20'), [w!.id]);
    assert.deepEqual(store.eventIdsBySeq([seq], '203.0.113.9'), []);
  } finally {
    await svc.close();
  }
});
