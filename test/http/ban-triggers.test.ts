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
import { addSite, attempt, postEvents, startService } from '../support/service.ts';
import { stagingOn } from '../support/staging.ts';

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

test("a batch whose savepoint rolled back after it was judged counts once when it is sent again, and its ban lists its own events", async () => {
  const svc = await startService();
  try {
    const { core, stage, groupWhereSecondFails } = stagingOn(svc);
    const Y = '203.0.113.8';
    const four = [1, 2, 3, 4].map(() => attempt(Y));
    const z = [1, 2, 3, 4].map(() => attempt('192.0.2.55'));
    // Z's batch first, then Y's, which fails after its events were judged.
    groupWhereSecondFails(z, four);
    // The plugin sends Y's batch again, as its spool does: four failures, not eight.
    const again = core.bans.transaction(() => stage(four));
    assert.equal(again.bansCreated, 0, 'a retried batch is not counted twice');
    assert.equal(core.bans.currentBan(Y), null);
    const y5 = attempt(Y);
    assert.equal(core.bans.transaction(() => stage([y5])).bansCreated, 1);
    assert.deepEqual(triggersOf(svc, Y), [...four, y5].map((e) => e.id), "Y's own five, none of Z's");
    // Z's batch, committed in the same group, still counts.
    const z5 = attempt('192.0.2.55');
    assert.equal(core.bans.transaction(() => stage([z5])).bansCreated, 1);
  } finally {
    await svc.close();
  }
});

test("the rebuild after a rolled-back savepoint keeps what the same key's earlier batches of the group stored", async () => {
  const svc = await startService();
  try {
    const { core, stage, groupWhereSecondFails } = stagingOn(svc);
    const V = '203.0.113.20';
    const kept = [1, 2].map(() => attempt(V));
    const failed = [1, 2].map(() => attempt(V));
    groupWhereSecondFails(kept, failed);
    assert.equal(core.bans.transaction(() => stage(failed)).bansCreated, 0);
    const fifth = attempt(V);
    assert.equal(core.bans.transaction(() => stage([fifth])).bansCreated, 1, 'two kept + two sent again + one');
    assert.deepEqual(triggersOf(svc, V), [...kept, ...failed, fifth].map((e) => e.id));
  } finally {
    await svc.close();
  }
});

test("trigger ids are read back for the banned address only: a seq another process reused names someone else's event", async () => {
  const svc = await startService();
  try {
    const w = attempt('198.51.100.20');
    assert.equal((await postEvents(svc.app, svc.site, [w])).statusCode, 200);
    const store = svc.app.core.store;
    const seq = svc.app.core.db.prepare('SELECT seq FROM events WHERE id = ?').pluck().get(w.id) as number;
    assert.deepEqual(store.eventIdsBySeq([seq], '198.51.100.20'), [w.id]);
    assert.deepEqual(store.eventIdsBySeq([seq], '203.0.113.9'), []);
  } finally {
    await svc.close();
  }
});
