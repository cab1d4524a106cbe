// An address's past bans reach the jails from SQLite the first time the service meets the
// address: read once while the jails remember them, at most one query per address never
// banned (within a bounded memory of those), and read again after a change the jails did
// not see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { createBanHistory } from '../../server/bans/ban-history.ts';
import { createJailState } from '../../server/jail/engine.ts';
import { DEFAULT_JAILS_CONFIG } from '../../server/jail/jail-config.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 1, 12);
const ban = (ipKey: string, createdMs: number) => ({
  ip_key: ipKey, jail: 'wordpress', reason: 'test', trigger_event_ids: null, ban_count: 1,
  created_at: new Date(createdMs).toISOString(), expires_at: new Date(createdMs + HOUR).toISOString(),
});

function setup(maxChecked = 100) {
  const store = createStore(openDatabase(':memory:'));
  let reads = 0;
  const counting = { ...store, restorableBansOfIpKey: (ipKey: string, iso: string) => (reads++, store.restorableBansOfIpKey(ipKey, iso)) };
  const jails = createJailState(DEFAULT_JAILS_CONFIG);
  const history = createBanHistory(counting, jails, { sinceMs: NOW - 30 * 24 * HOUR, maxChecked });
  return { store, jails, history, reads: () => reads };
}

test('a banned address is read once, with only the bans inside the look-back', () => {
  const { store, jails, history, reads } = setup();
  store.insertBan(ban('203.0.113.1', NOW - 40 * 24 * HOUR)); // before the look-back
  store.insertBan(ban('203.0.113.1', NOW - 3 * HOUR));
  store.insertBan(ban('203.0.113.1', NOW - 2 * HOUR));
  history.ensure('203.0.113.1', NOW);
  history.ensure('203.0.113.1', NOW);
  assert.equal(reads(), 1);
  assert.deepEqual(jails.bans.list('203.0.113.1').map((b) => b.createdAtMs), [NOW - 3 * HOUR, NOW - 2 * HOUR]);
});

test('a ban lifted early by an admin is read as lifted; one lifted by the expiry sweep counts', () => {
  const { store, jails, history } = setup();
  const id = store.insertBan(ban('203.0.113.2', NOW - 3 * HOUR));
  store.liftBan(id, new Date(NOW - 3 * HOUR + 60_000).toISOString(), 'admin:api');
  const swept = store.insertBan(ban('203.0.113.2', NOW - 2 * HOUR));
  store.liftBan(swept, new Date(NOW - HOUR).toISOString(), 'expiry');
  history.ensure('203.0.113.2', NOW);
  assert.deepEqual(jails.bans.list('203.0.113.2').map((b) => b.liftedAtMs), [NOW - 3 * HOUR + 60_000, null]);
});

test('addresses never banned cost one query each, within a bounded memory of them', () => {
  const { history, reads } = setup(100);
  for (let round = 0; round < 3; round++) for (let i = 0; i < 40; i++) history.ensure(`198.51.100.${i}`, NOW);
  assert.equal(reads(), 40);
  for (let i = 0; i < 1_000; i++) history.ensure(`192.0.${i >> 8}.${i & 255}`, NOW);
  assert.ok(history.checkedKeys() <= 100, `${history.checkedKeys()} remembered`);
});

test('after a change the jails did not see (another process), the address is read again', () => {
  const { store, jails, history, reads } = setup();
  history.ensure('203.0.113.3', NOW);
  assert.equal(jails.bans.has('203.0.113.3'), false);
  store.insertBan(ban('203.0.113.3', NOW - HOUR));
  history.forget('203.0.113.3');
  history.ensure('203.0.113.3', NOW);
  assert.equal(reads(), 2);
  assert.equal(jails.bans.list('203.0.113.3').length, 1);
});

test('once its filter is warm, an address with no ban since the look-back costs no query while the store is in step', () => {
  const { store, jails, history, reads } = setup(100);
  store.insertBan(ban('203.0.113.4', NOW - 40 * 24 * HOUR)); // before the look-back: not worth a read
  store.insertBan(ban('203.0.113.5', NOW - 2 * HOUR));
  for (let i = 0; i < 3; i++) store.insertBan(ban(`203.0.113.${10 + i}`, NOW - HOUR));
  let chunks = 1;
  while (!history.warmUp(2)) chunks++;
  assert.equal(chunks, 3, 'four bans since the look-back, two a chunk, and an empty last page');
  for (let i = 0; i < 1_000; i++) history.ensure(`192.0.${i >> 8}.${i & 255}`, NOW, true);
  history.ensure('203.0.113.4', NOW, true);
  assert.ok(reads() <= 20, `${reads()} queries for 1,001 addresses never banned since the look-back (Bloom false positives only)`);
  const before = reads();
  history.ensure('203.0.113.5', NOW, true);
  assert.equal(reads(), before + 1, 'a ban since the look-back is read');
  assert.equal(jails.bans.list('203.0.113.5').length, 1);
});

test('the filter is not trusted before it is warm, nor while another process may have banned unseen', () => {
  const { store, jails, history, reads } = setup(100);
  store.insertBan(ban('203.0.113.6', NOW - HOUR));
  history.ensure('203.0.113.6', NOW, true); // not warm yet: read
  assert.equal(jails.bans.list('203.0.113.6').length, 1);
  while (!history.warmUp(100));
  // A ban committed after the warm-up, by another process, not yet followed: read (not in step).
  store.insertBan(ban('203.0.113.7', NOW - 60_000));
  history.ensure('203.0.113.7', NOW, false);
  assert.equal(jails.bans.list('203.0.113.7').length, 1);
  // A ban change followed through forget() after the warm-up is in the filter.
  store.insertBan(ban('203.0.113.8', NOW - 60_000));
  history.forget('203.0.113.8');
  const before = reads();
  history.ensure('203.0.113.8', NOW, true);
  assert.equal(reads(), before + 1);
  assert.equal(jails.bans.list('203.0.113.8').length, 1);
});
