// A turn's signed requests share one read of their site's row and of the newest audit id;
// what changes them is seen at once when this process wrote it, and from the next turn when
// another process did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { createShieldStore } from '../../server/store/shields.ts';
import { createEnforcementStore } from '../../server/store/enforcement.ts';
import { unbannedSince } from '../../server/ingest/unbanned-since.ts';
import { tempDir } from '../support/service.ts';

function twoProcesses() {
  const tmp = tempDir('edgejail-site-memo-');
  const file = join(tmp.dir, 'edgejail.db');
  const service = createStore(openDatabase(file));
  // Another connection to the same file stands for the CLI, a process of its own.
  const cli = createStore(openDatabase(file));
  service.insertSite({ id: 's1', name: 'blog', secret: 'old-secret', created_at: '2026-01-01T00:00:00.000Z' });
  return { service, cli, done: () => { service.db.close(); cli.db.close(); tmp.cleanup(); } };
}

test("another process's rotation counts from the next turn; within one turn the row read first stands", async () => {
  const { service, cli, done } = twoProcesses();
  try {
    await nextTurn();
    assert.equal(service.siteById('s1')?.secret, 'old-secret');
    cli.rotateSecret('s1', 'new-secret', '2026-01-02T00:00:00.000Z');
    assert.equal(service.siteById('s1')?.secret, 'old-secret', 'the same turn keeps the row it read');
    await nextTurn();
    assert.equal(service.siteById('s1')?.secret, 'new-secret');
    cli.removeSite('s1');
    assert.ok(service.siteById('s1'));
    await nextTurn();
    assert.equal(service.siteById('s1'), undefined);
  } finally {
    done();
  }
});

test("this process's own writes to sites are seen at once, from every store of the connection", async () => {
  const { service, done } = twoProcesses();
  try {
    await nextTurn();
    assert.equal(service.siteById('s1')?.secret, 'old-secret');
    service.rotateSecret('s1', 'new-secret', '2026-01-02T00:00:00.000Z');
    assert.equal(service.siteById('s1')?.secret, 'new-secret');
    service.recordHello('s1', { site_url: 'https://blog.example', plugin_version: '1.0.0', wp_version: '6.8', at: '2026-01-02T00:00:00.000Z' });
    assert.equal(service.siteById('s1')?.site_url, 'https://blog.example');
    service.touchSite('s1', '2026-01-02T01:00:00.000Z');
    assert.equal(service.siteById('s1')?.last_event_at, '2026-01-02T01:00:00.000Z');
    createShieldStore(service.db).setSiteZone('s1', { zone_id: '023e105f4ecef8ad9ca31a8372d0c353' });
    assert.equal(service.siteById('s1')?.zone_id, '023e105f4ecef8ad9ca31a8372d0c353');
    assert.equal(service.siteById('nope'), undefined);
    service.insertSite({ id: 'nope', name: 'new', secret: 'x', created_at: '2026-01-02T00:00:00.000Z' });
    assert.ok(service.siteById('nope'), 'a site added after a miss is found at once');
    service.removeSite('s1');
    assert.equal(service.siteById('s1'), undefined);
  } finally {
    done();
  }
});

test('a read inside a transaction is not kept: a rollback takes back what it saw', async () => {
  const { service, done } = twoProcesses();
  try {
    await nextTurn();
    assert.throws(() => service.transaction(() => {
      service.touchSite('s1', '2026-01-03T00:00:00.000Z');
      assert.equal(service.siteById('s1')?.last_event_at, '2026-01-03T00:00:00.000Z');
      throw new Error('rolled back');
    }), /rolled back/);
    assert.equal(service.siteById('s1')?.last_event_at, null);
  } finally {
    done();
  }
});

test("the newest audit id: another process's entries count from the next turn, this process's at once", async () => {
  const { service, cli, done } = twoProcesses();
  try {
    await nextTurn();
    const first = service.lastAuditId();
    const unban = { at: '2026-01-02T00:00:00.000Z', actor: 'cli', action: 'unban', ip_key: '203.0.113.9' };
    const byCli = cli.audit(unban);
    assert.equal(service.lastAuditId(), first, 'the same turn keeps the id it read');
    // A cursor that old is safe: the unban is listed as soon as the id moves on.
    assert.deepEqual(unbannedSince(service, first), { cursor: first, ip_keys: [], clear_all: false });
    await nextTurn();
    assert.equal(service.lastAuditId(), byCli);
    assert.deepEqual(unbannedSince(service, first), { cursor: byCli, ip_keys: ['203.0.113.9'], clear_all: false });
    const own = service.audit({ ...unban, actor: 'admin', ip_key: '203.0.113.10' });
    assert.equal(service.lastAuditId(), own);
    assert.deepEqual(unbannedSince(service, byCli), { cursor: own, ip_keys: ['203.0.113.10'], clear_all: false });
    createEnforcementStore(service.db).auditSystem('2026-01-02T00:00:01.000Z', 'enforce', null, null, {});
    assert.equal(service.lastAuditId(), own + 1);
  } finally {
    done();
  }
});
