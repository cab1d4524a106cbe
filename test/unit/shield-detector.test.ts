// The login shield's detector as a site owner reads issue 11: many failures from many IPs, or
// one username from many IPs, within findtime raise the shield for bantime; it is extended
// while the attack lasts and lowered once it has not been seen for bantime. Clocks passed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createShieldDetector,
  describeFigures,
  expireShields,
  LastSeen,
  MAX_IPS_PER_SITE,
  MAX_IPS_PER_USERNAME,
  MAX_USERNAMES_PER_SITE,
  observeShieldFailure,
  pruneShieldDetector,
  setShieldStatus,
  shieldFigures,
  shieldStatusOf,
  trackedEntries,
  type ShieldDetectorState,
  type ShieldFailure,
  type ShieldTransition,
} from '../../server/shield/detector.ts';
import { shieldConfigSchema } from '../../server/shield/config.ts';

const S = 1000;
const MIN = 60 * S;
const T0 = Date.UTC(2026, 0, 1, 12);
const DEFAULTS = shieldConfigSchema.parse({});

function detector(overrides: Record<string, unknown> = {}): ShieldDetectorState {
  return createShieldDetector(shieldConfigSchema.parse(overrides));
}

const ip = (i: number) => `198.51.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;

interface Attack { ips: number; perIp: number; usernames?: string[]; everyMs?: number; start?: number; weight?: number; site?: string }

/** `ips` addresses × `perIp` tries, round-robin over usernames, `everyMs` apart; returns transitions. */
function attack(state: ShieldDetectorState, a: Attack): ShieldTransition[] {
  const out: ShieldTransition[] = [];
  const usernames = a.usernames ?? ['admin'];
  let t = a.start ?? T0;
  let n = 0;
  for (let round = 0; round < a.perIp; round++) {
    for (let i = 0; i < a.ips; i++) {
      const failure: ShieldFailure = { ipKey: ip(i), username: usernames[n++ % usernames.length]!, weight: a.weight ?? 1 };
      const tr = observeShieldFailure(state, a.site ?? 'site-a', failure, t);
      if (tr) out.push(tr);
      t += a.everyMs ?? 100;
    }
  }
  return out;
}

test('defaults are the issue’s: 100 failures from 20 IPs, or one username from 10 IPs, in 5m; up for 30m', () => {
  assert.deepEqual(
    { maxretry: DEFAULTS.maxretry, findtime: DEFAULTS.findtime, min_ips: DEFAULTS.min_ips, username_min_ips: DEFAULTS.username_min_ips, bantime: DEFAULTS.bantime, action: DEFAULTS.action, xmlrpc: DEFAULTS.xmlrpc, enabled: DEFAULTS.enabled },
    { maxretry: 100, findtime: 300, min_ips: 20, username_min_ips: 10, bantime: 1800, action: 'managed_challenge', xmlrpc: 'block', enabled: undefined },
  );
});

test('what raises the shield and what does not', () => {
  const cases: Array<{ name: string; attack: Attack; raisedAt: number | null }> = [
    // failures × IPs, each username tried from few IPs (usernames rotate over many names)
    { name: '99 failures from 33 IPs: one short of maxretry', attack: { ips: 33, perIp: 3, usernames: names(50) }, raisedAt: null },
    { name: '100 failures from 20 IPs: the 100th raises it', attack: { ips: 20, perIp: 5, usernames: names(50) }, raisedAt: 100 },
    { name: '500 failures from 19 IPs, each on its own username: too few IPs (a per-IP jail’s job)', attack: { ips: 19, perIp: 27, usernames: names(19) }, raisedAt: null },
    { name: 'weight counts: 20 IPs × one multicall of 5 passwords', attack: { ips: 20, perIp: 1, weight: 5, usernames: names(50) }, raisedAt: 20 },
    // one username from many IPs
    { name: "'admin' from 9 IPs: one short", attack: { ips: 9, perIp: 1 }, raisedAt: null },
    { name: "'admin' from 10 IPs raises it at the 10th", attack: { ips: 10, perIp: 1 }, raisedAt: 10 },
    { name: 'usernames are compared case-insensitively', attack: { ips: 10, perIp: 1, usernames: ['Admin', 'ADMIN', 'admin'] }, raisedAt: 10 },
    { name: '4 usernames rotating over 2,000 IPs (the measured night): raised early', attack: { ips: 2000, perIp: 3, usernames: ['admin', 'administrator', 'shop', 'test'], everyMs: 1 }, raisedAt: 37 },
    // the window
    { name: '100 failures from 20 IPs spread over 10 minutes: never 100 within 5m', attack: { ips: 20, perIp: 5, usernames: names(50), everyMs: 6 * S }, raisedAt: null },
  ];
  for (const c of cases) {
    const state = detector();
    const transitions: ShieldTransition[] = [];
    let raisedAt: number | null = null;
    const usernames = c.attack.usernames ?? ['admin'];
    let n = 0;
    let t = T0;
    outer: for (let round = 0; round < c.attack.perIp; round++) {
      for (let i = 0; i < c.attack.ips; i++) {
        n++;
        const tr = observeShieldFailure(state, 'site-a', { ipKey: ip(i), username: usernames[(n - 1) % usernames.length]!, weight: c.attack.weight ?? 1 }, t);
        t += c.attack.everyMs ?? 100;
        if (tr) { transitions.push(tr); raisedAt = n; break outer; }
      }
    }
    assert.equal(raisedAt, c.raisedAt, c.name);
    if (raisedAt !== null) assert.equal(transitions[0]!.kind, 'raise', c.name);
  }
});

function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `user${i}`);
}

test('the reason is in figures, ready for the audit row', () => {
  const state = detector({ maxretry: 10, min_ips: 5 });
  const [raise] = attack(state, { ips: 6, perIp: 2, usernames: ['admin', 'shop'] });
  assert.equal(raise!.kind, 'raise');
  assert.equal(raise!.reason, "10 failures from 6 IPs in 5m; 'admin' from 3 IPs");
  assert.equal(describeFigures({ failures: 312, ips: 211, ipsCapped: false, topUsername: { username: 'admin', ips: 57, capped: false } }, 300), "312 failures from 211 IPs in 5m; 'admin' from 57 IPs");
  assert.equal(describeFigures({ failures: 1, ips: 20_000, ipsCapped: true, topUsername: null }, 600), '1 failure from 20000+ IPs in 10m');
  assert.equal(describeFigures({ failures: 9, ips: 9, ipsCapped: false, topUsername: { username: 'x\n\u001b[31mroot', ips: 9, capped: false } }, 300), "9 failures from 9 IPs in 5m; 'x??[31mroot' from 9 IPs", 'control characters of an attacker’s username are not passed on');
});

test('raise, extend while it holds, lower once it has not held for bantime', () => {
  const state = detector({ bantime: '30m' });
  const raised = attack(state, { ips: 10, perIp: 1 });
  assert.deepEqual(raised.map((t) => t.kind), ['raise']);
  const raisedAt = raised[0]!.atMs;
  assert.equal(raised[0]!.untilMs, raisedAt + 30 * MIN);

  // The attack goes on for 10 more minutes, one failure a second from fresh IPs on 'admin'.
  const later = attack(state, { ips: 600, perIp: 1, start: raisedAt + S, everyMs: S });
  assert.ok(later.length >= 9 && later.every((t) => t.kind === 'extend'), `extensions: ${later.map((t) => t.kind).join()}`);
  const lastSeen = raisedAt + 600 * S;
  assert.equal(shieldStatusOf(state, 'site-a', lastSeen)!.untilMs, lastSeen + 30 * MIN, 'in memory the end moves with every failure');
  assert.ok(later.at(-1)!.untilMs > lastSeen + 29 * MIN, 'and what is written down lags it by at most a minute');

  assert.deepEqual(expireShields(state, lastSeen + 30 * MIN - 1), [], 'still up a millisecond before bantime has passed');
  const [lowered] = expireShields(state, lastSeen + 30 * MIN);
  assert.equal(lowered!.kind, 'lower');
  assert.equal(lowered!.reason, `attack last seen ${new Date(lastSeen).toISOString()}; now 0 failures from 0 IPs in 5m`);
  assert.equal(shieldStatusOf(state, 'site-a', lastSeen + 30 * MIN), null);
  assert.deepEqual(expireShields(state, lastSeen + 31 * MIN), [], 'lowered once');
});

test('a manual shield is kept for its time; an attack only makes it longer', () => {
  const state = detector({ bantime: '30m' });
  setShieldStatus(state, 'site-a', { sinceMs: T0, untilMs: T0 + 120 * MIN, reason: 'manual' });
  assert.deepEqual(attack(state, { ips: 10, perIp: 1, start: T0 + MIN }), [], 'a 2h manual shield already covers a 30m raise');
  assert.equal(shieldStatusOf(state, 'site-a', T0 + 119 * MIN)!.reason, 'manual');
  const late = attack(state, { ips: 10, perIp: 1, start: T0 + 100 * MIN });
  assert.deepEqual(late.map((t) => t.kind), ['extend'], 'at 1h40m the attack reaches past 2h: extended');
  assert.equal(late[0]!.sinceMs, T0);
});

test('a shield lowered by hand rises again only on a fresh window of attack', () => {
  const state = detector();
  attack(state, { ips: 10, perIp: 1 });
  setShieldStatus(state, 'site-a', null, { forgetWindow: true });
  assert.equal(observeShieldFailure(state, 'site-a', { ipKey: ip(11), username: 'admin', weight: 1 }, T0 + 5 * S), null, 'the 11th IP alone does not raise it again');
  const again = attack(state, { ips: 10, perIp: 1, start: T0 + 6 * S });
  assert.deepEqual(again.map((t) => t.kind), ['raise']);
});

test('sites are counted apart', () => {
  const state = detector();
  attack(state, { ips: 9, perIp: 1, site: 'site-a' });
  assert.deepEqual(attack(state, { ips: 9, perIp: 1, site: 'site-b' }), []);
  assert.equal(shieldFigures(state, 'site-a', T0 + 2 * S).ips, 9);
});

test('a replay after a restart counts without raising', () => {
  const state = detector();
  for (let i = 0; i < 10; i++) assert.equal(observeShieldFailure(state, 'site-a', { ipKey: ip(i), username: 'admin', weight: 1 }, T0 + i, true), null);
  assert.equal(shieldStatusOf(state, 'site-a', T0 + 10), null);
  assert.equal(observeShieldFailure(state, 'site-a', { ipKey: ip(10), username: 'admin', weight: 1 }, T0 + 11)!.kind, 'raise', 'the next live failure does');
});

test('memory is bounded under a 100,000-IP attack with random usernames, and detection is unaffected', () => {
  const state = detector();
  let raised = 0;
  for (let i = 0; i < 100_000; i++) {
    const tr = observeShieldFailure(state, 'site-a', { ipKey: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, username: `u${i % 5000}`, weight: 1 }, T0 + i);
    if (tr?.kind === 'raise') raised++;
  }
  assert.equal(raised, 1);
  const figures = shieldFigures(state, 'site-a', T0 + 100_000);
  assert.equal(figures.failures, 100_000);
  assert.equal(figures.ips, MAX_IPS_PER_SITE);
  assert.equal(figures.ipsCapped, true);
  assert.ok(trackedEntries(state) <= MAX_IPS_PER_SITE + MAX_USERNAMES_PER_SITE * (1 + MAX_IPS_PER_USERNAME) + 61, `entries: ${trackedEntries(state)}`);
  assert.match(shieldStatusOf(state, 'site-a', T0 + 100_000)!.reason, /from 20000\+ IPs/);
});

test('quiet sites cost nothing once their window is empty', () => {
  const state = detector();
  attack(state, { ips: 5, perIp: 1 });
  pruneShieldDetector(state, T0 + 10 * MIN);
  assert.equal(state.sites.size, 0);
  assert.equal(trackedEntries(state), 0);
});

test('LastSeen: the same keys seen over and over stay cheap, and pruning after a compaction is exact', () => {
  const seen = new LastSeen(100);
  for (let t = 1; t <= 50_000; t++) seen.touch(`k${t % 50}`, t);
  assert.equal(seen.size, 50);
  assert.ok((seen as unknown as { queue: unknown[] }).queue.length <= 2 * 50 + 1024 + 1, 'stale queue entries are compacted away');
  seen.pruneUpTo(50_000 - 10);
  assert.equal(seen.size, 10, 'only the keys seen in the last 10 ms are left');
  for (let i = 0; i < 150; i++) seen.touch(`n${i}`, 60_000 + i);
  assert.equal(seen.size, 100, 'the cap drops the least recently seen first');
  seen.pruneUpTo(60_000 + 149 - 1);
  assert.equal(seen.size, 1);
});
