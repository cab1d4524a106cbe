// Group commit: batches that arrive in one event-loop turn share one transaction, each
// answered only after that transaction committed; a batch that fails rolls back alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createGroupCommit } from '../../server/ingest/group-commit.ts';

function harness() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  let transactions = 0;
  const group = createGroupCommit(
    (fn) => {
      transactions++;
      db.transaction(fn).immediate();
    },
    (fn) => db.transaction(fn)(),
  );
  const rows = () => (db.prepare('SELECT v FROM t ORDER BY rowid').pluck().all() as string[]);
  return { db, insert, group, rows, transactions: () => transactions };
}

test('batches queued in one turn are one transaction, and each is answered after its commit', async () => {
  const h = harness();
  const answers = await Promise.all(['a', 'b', 'c'].map((v) => h.group.run(() => (h.insert.run(v), v)).then((r) => ({ r, open: h.db.inTransaction }))));
  assert.deepEqual(answers, [{ r: 'a', open: false }, { r: 'b', open: false }, { r: 'c', open: false }]);
  assert.equal(h.transactions(), 1);
  assert.deepEqual(h.rows(), ['a', 'b', 'c']);
});

test('a batch that fails rolls back alone; the others of its group are stored and answered', async () => {
  const h = harness();
  const results = await Promise.allSettled([
    h.group.run(() => h.insert.run('kept-1')),
    h.group.run(() => {
      h.insert.run('rolled-back');
      throw new Error('bad batch');
    }),
    h.group.run(() => h.insert.run('kept-2')),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal((results[1] as PromiseRejectedResult).reason.message, 'bad batch');
  assert.deepEqual(h.rows(), ['kept-1', 'kept-2']);
});

test('batches of later turns go in later transactions', async () => {
  const h = harness();
  await h.group.run(() => h.insert.run('first'));
  await h.group.run(() => h.insert.run('second'));
  assert.equal(h.transactions(), 2);
});

test('a group commits once its batches have taken the time slice; the rest go in the next turns, in order, each answered after its own commit', async () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  let now = 0;
  const commits: string[][] = [];
  let open: string[] = [];
  const group = createGroupCommit(
    (fn) => {
      open = [];
      db.transaction(fn).immediate();
      commits.push(open);
    },
    (fn) => db.transaction(fn)(),
    { sliceMs: 10, clock: () => now },
  );
  const stage = (v: string) => () => {
    now += 6; // each batch takes 6 ms: two fit a 10 ms slice
    insert.run(v);
    open.push(v);
    return commits.length;
  };
  // What runs between two slices: the turn in which Node reads sockets again.
  // A chain of setImmediate counts the loop's iterations: each slice after the first runs in
  // a later one. (A 0 ms interval fires at most once a millisecond and could miss them.)
  let turnsBetween = 0;
  let ticking = true;
  const tick = () => {
    turnsBetween++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const committedIn = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((v) => group.run(stage(v))));
  ticking = false;
  assert.deepEqual(commits, [['a', 'b'], ['c', 'd'], ['e']]);
  assert.deepEqual(committedIn, [0, 0, 1, 1, 2], 'each batch ran in the transaction of its own slice');
  assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY rowid').pluck().all(), ['a', 'b', 'c', 'd', 'e']);
  assert.ok(turnsBetween >= 2, 'the event loop turned between slices');
});

test('a batch slower than the whole slice still runs, alone in its group', async () => {
  const db = new Database(':memory:');
  let now = 0;
  let transactions = 0;
  const group = createGroupCommit(
    (fn) => {
      transactions++;
      db.transaction(fn)();
    },
    (fn) => fn(),
    { sliceMs: 10, clock: () => now },
  );
  const results = await Promise.all([1, 2].map((n) => group.run(() => ((now += 50), n))));
  assert.deepEqual(results, [1, 2]);
  assert.equal(transactions, 2);
});

test('a slice given as a function is read once a group: a flood shortens the next one', async () => {
  const db = new Database(':memory:');
  let now = 0;
  const commits: number[][] = [];
  let open: number[] = [];
  const slices = [13, 4, 4];
  const group = createGroupCommit(
    (fn) => {
      open = [];
      db.transaction(fn)();
      commits.push(open);
    },
    (fn) => fn(),
    { sliceMs: () => slices.shift() ?? 100, clock: () => now },
  );
  // Each batch takes 3 ms and the slice is checked before each: five start within 13 ms, two within 4.
  await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => group.run(() => ((now += 3), open.push(n)))));
  assert.deepEqual(commits, [[1, 2, 3, 4, 5], [6, 7], [8]]);
});

test('a hold keeps batches out of any transaction until its release, while the event loop runs on', async () => {
  const h = harness();
  const release = h.group.hold();
  let answered = false;
  const pending = h.group.run(() => h.insert.run('held')).then(() => (answered = true));
  // Several turns pass: timers fire, nothing is committed.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(answered, false);
  assert.equal(h.transactions(), 0);
  assert.deepEqual(h.rows(), []);
  const second = h.group.hold();
  release();
  release(); // a second call is ignored: the other hold still counts
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(h.transactions(), 0, 'the other hold still holds');
  second();
  await pending;
  assert.equal(h.transactions(), 1, 'everything queued while held goes in one group');
  assert.deepEqual(h.rows(), ['held']);
  // A release with nothing queued schedules nothing; the next batch commits as usual.
  h.group.hold()();
  await h.group.run(() => h.insert.run('after'));
  assert.equal(h.transactions(), 2);
});

test('a hold taken after a batch was queued, before its group ran, still keeps it out until the release', async () => {
  const h = harness();
  const pending = h.group.run(() => h.insert.run('queued'));
  const release = h.group.hold(); // the flush is already scheduled for this turn
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(h.transactions(), 0);
  release();
  await pending;
  assert.equal(h.transactions(), 1);
  assert.deepEqual(h.rows(), ['queued']);
});
