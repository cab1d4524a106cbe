// The WAL checkpoint holds the main connection's commits for one pass. Ingest's group
// commit registers for it: a batch that arrives while the commits are held is answered
// only after the release, and the service answers everything else meanwhile.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../server/app.ts';
import { addSite, attempt, signedHeaders, tempDir, testConfig } from '../support/service.ts';

const tmp = tempDir('edgejail-hold-');
after(() => tmp.cleanup());

test('a batch posted while the checkpoint holds the commits is stored and answered after the release', async () => {
  const app = await buildApp(testConfig(tmp.dir), { backgroundJobs: false });
  try {
    await app.ready();
    assert.ok(app.checkpointer, 'a service on its own database file runs the checkpoint thread');
    const site = addSite(app, 'blog');
    const body = JSON.stringify({ events: [attempt('198.51.100.60')] });
    const release = app.checkpointer.holdCommits();
    let answered = false;
    const reply = app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body), payload: body }).then((r) => {
      answered = true;
      return r;
    });
    // In flight: past the signature and the schema, waiting for its commit.
    while (app.ingestInFlight() === 0) await new Promise((resolve) => setImmediate(resolve));
    // Unheld, its commit would run within a turn or two. Other requests are served
    // meanwhile: the event loop is not held, only the commit.
    for (let i = 0; i < 20; i++) {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(answered, false, 'no answer before the commit');
    assert.equal((app.core.db.prepare("SELECT count(*) AS n FROM events WHERE ip = '198.51.100.60'").get() as { n: number }).n, 0);
    release();
    const res = await reply;
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().accepted, 1);
  } finally {
    await app.close();
  }
});
