// The engine under a flood: a refused decision leaves no trace, remembered bans stay
// within maxBanKeys (forgetting the longest-ended first), and no ban outlasts the cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJailState, observeBan, observeEvent, type JailEvent } from '../../server/jail/engine.ts';
import { jailsConfigSchema } from '../../server/jail/jail-config.ts';
import { MAX_BAN_SECONDS } from '../../server/config/duration.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12);
let seq = 0;
const ev = (ipKey: string, occurredAtMs: number, weight = 1): JailEvent => ({ seq: ++seq, siteId: 'site-a', type: 'login_failed', ipKey, username: 'alice', weight, occurredAtMs });
const jails = (overrides: Record<string, unknown> = {}) =>
  jailsConfigSchema.parse({ blocked_username: { enabled: false }, wordpress_probe: { enabled: false }, ...overrides });

test('a refused decision is not remembered: no ban mark, no recidive count, decided again on the next event', () => {
  const state = createJailState(jails());
  const refused = observeEvent(state, ev('203.0.113.1', T0, 5), T0, () => false);
  assert.deepEqual(refused, []);
  assert.equal(state.bans.size, 0, 'no phantom ban mark');
  const recidive = state.jails.find((jail) => jail.name === 'recidive')!;
  assert.equal(recidive.windows.size, 0, 'nothing counted towards recidive');
  // Dozens more refused events keep the window at what one more event needs.
  for (let i = 1; i <= 50; i++) observeEvent(state, ev('203.0.113.1', T0 + i), T0 + i, () => false);
  const wordpress = state.jails.find((jail) => jail.name === 'wordpress')!;
  assert.ok(wordpress.windows.has('203.0.113.1'));
  assert.ok(wordpress.windows.count(wordpress.windows.get('203.0.113.1')) <= 5);
  const admitted = observeEvent(state, ev('203.0.113.1', T0 + 100), T0 + 100, () => true);
  assert.deepEqual(admitted.map((d) => d.jail), ['wordpress']);
  assert.equal(state.bans.list('203.0.113.1').length, 1);
});

test('remembered bans stay within maxBanKeys, forgetting the least recently banned key first', () => {
  const state = createJailState(jails(), { maxBanKeys: 1_000 });
  for (let i = 0; i < 5_000; i++) {
    const at = T0 + i * 1000;
    observeBan(state, { ipKey: `198.51.${i >> 8}.${i & 255}`, jail: 'manual', createdAtMs: at, expiresAtMs: at + 3_600_000, liftedAtMs: null }, at);
  }
  assert.equal(state.bans.size, 1_000);
  assert.equal(state.banKeyEvictions, 4_000);
  assert.ok(state.bans.has('198.51.19.135'), 'the latest ban (i = 4999) is kept');
  assert.ok(!state.bans.has('198.51.0.0'), 'the earliest ban is forgotten');
  // A key banned again moves to the back: the next eviction takes another.
  const oldest = [...state.bans.keys()][0]!;
  const at = T0 + 5_000_000;
  observeBan(state, { ipKey: oldest, jail: 'manual', createdAtMs: at, expiresAtMs: at + 3_600_000, liftedAtMs: null }, at);
  observeBan(state, { ipKey: '192.0.2.1', jail: 'manual', createdAtMs: at + 1, expiresAtMs: at + 3_600_001, liftedAtMs: null }, at + 1);
  assert.ok(state.bans.has(oldest));
  assert.equal(state.bans.size, 1_000);
});

test('no ban the engine decides outlasts the 365d cap, whatever the escalation', () => {
  const state = createJailState(jails({ wordpress: { bantime: '30d', bantime_increment: { factor: 100, maxtime: '365d', rndtime: '30d' } } }), { random: () => 0.999 });
  let now = T0;
  let longest = 0;
  for (let n = 0; n < 4; n++) {
    for (const decision of observeEvent(state, ev('203.0.113.9', now, 5), now)) longest = Math.max(longest, decision.durationSeconds);
    now += 400 * 24 * 60 * MIN;
  }
  assert.equal(longest, MAX_BAN_SECONDS);
});

test('a jail bantime or maxtime past the cap is refused, naming the cap', () => {
  const bad = jailsConfigSchema.safeParse({ wordpress: { bantime: '400d', bantime_increment: { maxtime: '400d' } } });
  assert.equal(bad.success, false);
  const huge = jailsConfigSchema.safeParse({ wordpress: { bantime_increment: { maxtime: 300_000_000_000 } } });
  assert.equal(huge.success, false);
  assert.match(huge.error!.issues[0]!.message, /longer than the 365d cap \(maxtime\)/);
  const bantime = jailsConfigSchema.safeParse({ blocked_username: { bantime: '53w' } });
  assert.match(bantime.error!.issues[0]!.message, /longer than the 365d cap \(maxtime\)/);
});

test('forgotten ban keys give their slots back: a steady flood over the key cap does not grow the table', () => {
  const state = createJailState(jails(), { maxBanKeys: 500 });
  const ban = (i: number) => {
    const at = T0 + i * 1000;
    observeBan(state, { ipKey: `198.18.${i >> 8}.${i & 255}`, jail: 'manual', createdAtMs: at, expiresAtMs: at + 3_600_000, liftedAtMs: null }, at);
  };
  for (let i = 0; i < 500; i++) ban(i);
  const slotsAtCap = state.bans.slotsInUse();
  for (let i = 500; i < 20_000; i++) ban(i);
  assert.equal(state.bans.size, 500);
  assert.equal(state.bans.slotsInUse(), slotsAtCap);
  // Every key remembered is one of the 500 banned last, each with its one ban.
  for (const key of state.bans.keys()) assert.equal(state.bans.list(key).length, 1);
  assert.ok(state.bans.has('198.18.78.31'), 'i = 19,999 is kept');
  assert.ok(!state.bans.has('198.18.76.43'), 'i = 19,499 is forgotten');
});

test('while `forgotten` is open, every key a cap pushes out is named in it, with its site where its jail counts by site', () => {
  const state = createJailState(jails({ wordpress: { scope: 'site' } }), { maxTrackedKeys: 2, maxBanKeys: 2 });
  observeEvent(state, ev('203.0.113.1', T0), T0);
  observeEvent(state, ev('203.0.113.2', T0 + 1), T0 + 1);
  assert.equal(state.forgotten, null, 'closed by default: nothing is kept');
  observeEvent(state, ev('203.0.113.3', T0 + 2), T0 + 2);
  state.forgotten = [];
  observeEvent(state, ev('203.0.113.4', T0 + 3), T0 + 3);
  const ban = (ipKey: string, at: number) => observeBan(state, { ipKey, jail: 'manual', createdAtMs: at, expiresAtMs: at + 3_600_000, liftedAtMs: null }, at);
  ban('192.0.2.1', T0 + 4);
  ban('192.0.2.2', T0 + 5);
  ban('192.0.2.3', T0 + 6);
  assert.deepEqual(state.forgotten, [
    { ipKey: '203.0.113.2', siteId: 'site-a' }, // the site-scoped wordpress jail's oldest window
    { ipKey: '192.0.2.1', siteId: null }, // a ban history at maxBanKeys
  ]);
});
