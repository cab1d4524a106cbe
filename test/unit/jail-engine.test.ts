// The jail engine as a hosting admin knows fail2ban: maxretry within findtime → bantime,
// longer bans for repeat offenders, recidive for the persistent. All clocks are passed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createJailState,
  jailStats,
  observeBan,
  observeEvent,
  observeUnban,
  pruneJailState,
  rebuildKeyState,
  restoreBanHistory,
  restoreJailState,
  type BanDecision,
  type JailEvent,
  type JailState,
  type PastBan,
} from '../../server/jail/engine.ts';
import { jailsConfigSchema } from '../../server/jail/jail-config.ts';
import { ipKeyOf } from '../../server/jail/ip.ts';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;
const T0 = Date.UTC(2026, 0, 1, 12); // any fixed instant; nothing here reads the wall clock
const IP = '203.0.113.7';

/** The default jails with only the named ones enabled (plus any given overrides). */
function jailsConfig(enabled: string[], overrides: Record<string, unknown> = {}) {
  const off = Object.fromEntries(['wordpress', 'blocked_username', 'wordpress_probe', 'recidive'].map((name) => [name, { enabled: enabled.includes(name) }]));
  return jailsConfigSchema.parse({ ...off, ...overrides });
}

let seq = 0;
function ev(partial: Partial<JailEvent> = {}): JailEvent {
  return { seq: ++seq, siteId: 'site-a', type: 'login_failed', ipKey: IP, username: 'alice', weight: 1, occurredAtMs: T0, ...partial };
}

/** Feeds events arriving at their own time (or at `nowMs`); returns every decision. */
function feed(state: JailState, events: JailEvent[], nowMs?: number): BanDecision[] {
  return events.flatMap((event) => observeEvent(state, event, nowMs ?? event.occurredAtMs));
}

/** n failures one second apart from `start`. */
function failures(n: number, start: number, partial: Partial<JailEvent> = {}): JailEvent[] {
  return Array.from({ length: n }, (_, i) => ev({ occurredAtMs: start + i * S, ...partial }));
}

/** Failures one second apart until a ban; returns it with how many it took. */
function failUntilBanned(state: JailState, start: number, partial: Partial<JailEvent> = {}): { decision: BanDecision; failures: number } {
  for (let i = 0; i < 1000; i++) {
    const decisions = feed(state, [ev({ occurredAtMs: start + i * S, ...partial })]);
    if (decisions.length) return { decision: decisions[0]!, failures: i + 1 };
  }
  throw new Error('never banned');
}

test('maxretry is exact: 4 failures do not ban, the 5th does', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const first4 = [...failures(3, T0), ev({ type: 'xmlrpc_multicall', occurredAtMs: T0 + 3 * S })];
  assert.deepEqual(feed(state, first4), []);
  const fifth = ev({ occurredAtMs: T0 + 4 * S });
  const decisions = feed(state, [fifth]);
  assert.deepEqual(decisions, [
    {
      ipKey: IP,
      jail: 'wordpress',
      banCount: 1,
      durationSeconds: 3600,
      expiresAtMs: T0 + 4 * S + H,
      reason: '5 failures (login_failed×4, xmlrpc_multicall×1) in 10m',
      triggerEventSeqs: [...first4, fifth].map((e) => e.seq),
    },
  ]);
});

test('the window is (t − findtime, t]', async (t) => {
  const cases: Array<[name: string, fifthAfterFirst: number, banned: boolean]> = [
    ['5th exactly findtime after the 1st: the 1st has left the window', 10 * MIN, false],
    ['5th 1 ms inside findtime', 10 * MIN - 1, true],
  ];
  for (const [name, gap, banned] of cases) {
    await t.test(name, () => {
      const state = createJailState(jailsConfig(['wordpress']));
      const events = [...failures(4, T0), ev({ occurredAtMs: T0 + gap })];
      assert.equal(feed(state, events).length, banned ? 1 : 0);
    });
  }
  await t.test('an event exactly findtime old on arrival does not count, 1 ms younger does', () => {
    for (const [age, banned] of [[10 * MIN, false], [10 * MIN - 1, true]] as const) {
      const state = createJailState(jailsConfig(['wordpress']));
      const now = T0 + 20 * MIN;
      assert.deepEqual(feed(state, failures(4, now - 4 * S)), []);
      assert.equal(feed(state, [ev({ occurredAtMs: now - age })], now).length, banned ? 1 : 0, `age ${age}`);
    }
  });
  await t.test('events older than now − findtime do not count at all', () => {
    const state = createJailState(jailsConfig(['wordpress']));
    // A spool delivering yesterday's failures: each is older than findtime when it arrives.
    assert.deepEqual(feed(state, failures(10, T0), T0 + 10 * MIN + 10 * S), []);
    assert.equal(jailStats(state).trackedKeys.wordpress, 0);
  });
});

test('out-of-order arrival still bans at the right moment', async (t) => {
  await t.test('the straggler that completes the count bans, whichever arrives last', () => {
    for (const lastIndex of [0, 2, 4]) {
      const state = createJailState(jailsConfig(['wordpress']));
      const events = failures(5, T0);
      const last = events.splice(lastIndex, 1)[0]!;
      assert.deepEqual(feed(state, events, T0 + MIN), []);
      const decisions = feed(state, [last], T0 + MIN);
      assert.deepEqual(new Set(decisions[0]!.triggerEventSeqs), new Set([...events, last].map((e) => e.seq)));
    }
  });

  await t.test('with a site clock running ahead, a late event completes a window that is not the newest', () => {
    // Times in minutes after T0; now is 8m, the skewed site reports events up to 12m.
    const at = (minutes: number) => ev({ occurredAtMs: T0 + minutes * MIN });
    const state = createJailState(jailsConfig(['wordpress']));
    const now = T0 + 8 * MIN;
    const [a, b, c, d, e] = [at(1), at(2), at(11 + 50 / 60), at(11 + 55 / 60), at(12)];
    const f = at(3);
    // Windows (t − 10m, t]: none holds more than 4 of these six.
    assert.deepEqual(feed(state, [a!, b!, c!, d!, e!, f], now), []);
    // 2m30s: the window ending at 11m55s now holds b, g, f, c, d.
    const g = at(2.5);
    const decisions = feed(state, [g], now);
    assert.deepEqual(new Set(decisions[0]!.triggerEventSeqs), new Set([b!, g, f, c!, d!].map((x) => x.seq)));
  });

  await t.test('matches a brute-force count for random times, weights and arrival orders', () => {
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const findtime = 10 * MIN;
    const maxretry = 6;
    let banned = 0;
    for (let trial = 0; trial < 400; trial++) {
      const state = createJailState(jailsConfig([], { burst: { event_types: ['login_failed'], maxretry, findtime: '10m', bantime: '1h' } }));
      const count = 3 + Math.floor(rand() * 8);
      const events = Array.from({ length: count }, () => ev({ occurredAtMs: T0 + Math.floor(rand() * 30 * MIN), weight: 1 + Math.floor(rand() * 3) }));
      const arrived: JailEvent[] = [];
      let now = T0;
      let expectedAt = -1;
      let gotAt = -1;
      for (let k = 0; k < events.length; k++) {
        const event = events[k]!;
        // Mostly delayed reports, some from site clocks up to 5 minutes ahead.
        now = Math.max(now, event.occurredAtMs + Math.floor((rand() * 8 - 5) * MIN));
        arrived.push(event);
        const live = arrived.filter((e) => e.occurredAtMs > now - findtime);
        const reached = live.some((end) => live.filter((e) => e.occurredAtMs > end.occurredAtMs - findtime && e.occurredAtMs <= end.occurredAtMs).reduce((s, e) => s + e.weight, 0) >= maxretry);
        if (reached && expectedAt === -1) expectedAt = k;
        const decisions = observeEvent(state, event, now);
        if (decisions.length && gotAt === -1) {
          gotAt = k;
          const trigger = arrived.filter((e) => decisions[0]!.triggerEventSeqs.includes(e.seq));
          const times = trigger.map((e) => e.occurredAtMs);
          assert.ok(trigger.reduce((s, e) => s + e.weight, 0) >= maxretry, `trial ${trial}: trigger below maxretry`);
          assert.ok(Math.max(...times) - Math.min(...times) < findtime, `trial ${trial}: trigger wider than findtime`);
        }
        if (expectedAt !== -1) break;
      }
      assert.equal(gotAt, expectedAt, `trial ${trial}`);
      if (gotAt !== -1) banned++;
    }
    // Both outcomes must be well represented for the comparison to mean anything.
    assert.ok(banned > 100 && banned < 300, `${banned} of 400 trials banned`);
  });
});

test('weights: one XML-RPC multicall carrying 100 attempts bans at once', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const decisions = feed(state, [ev({ type: 'xmlrpc_multicall', weight: 100 })]);
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0]!.reason, '100 failures (xmlrpc_multicall×100) in 10m');
  const other = createJailState(jailsConfig(['wordpress']));
  assert.deepEqual(feed(other, [ev({ type: 'xmlrpc_multicall', weight: 4 })]), []);
  assert.equal(feed(other, [ev({ occurredAtMs: T0 + S })]).length, 1);
});

test('bantime increment: each ban doubles, capped at maxtime', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const expected = [1, 2, 4, 8, 16, 32, 64, 128].map((h) => h * 3600).concat([604_800, 604_800]);
  let now = T0;
  const got: Array<[number, number]> = [];
  for (let round = 0; round < expected.length; round++) {
    const { decision } = failUntilBanned(state, now);
    got.push([decision.banCount, decision.durationSeconds]);
    now = decision.expiresAtMs + S; // comes back just after release
  }
  assert.deepEqual(got, expected.map((seconds, i) => [i + 1, seconds]));
});

test('bantime increment variants', async (t) => {
  const jail = (increment: Record<string, unknown>) => ({ event_types: ['login_failed'], maxretry: 1, findtime: '10m', bantime: '1m', bantime_increment: increment });
  const durations = (state: JailState, rounds: number) => {
    let now = T0;
    return Array.from({ length: rounds }, () => {
      const { decision } = failUntilBanned(state, now);
      now = decision.expiresAtMs + S;
      return decision.durationSeconds;
    });
  };
  await t.test('multipliers "1 5 30": the last one repeats', () => {
    const state = createJailState(jailsConfig([], { j: jail({ multipliers: '1 5 30' }) }));
    assert.deepEqual(durations(state, 4), [60, 300, 1800, 1800]);
  });
  await t.test('factor 3 capped at maxtime 10m', () => {
    const state = createJailState(jailsConfig([], { j: jail({ factor: 3, maxtime: '10m' }) }));
    assert.deepEqual(durations(state, 4), [60, 180, 540, 600]);
  });
  await t.test('rndtime adds up to that many seconds, from the injected random source', () => {
    const state = createJailState(jailsConfig([], { j: jail({ rndtime: 100 }) }), { random: () => 0.5 });
    assert.deepEqual(durations(state, 2), [60 + 50, 120 + 50]);
  });
  await t.test('disabled: every ban is bantime, banCount still counts', () => {
    const state = createJailState(jailsConfig([], { j: { ...jail({}), bantime_increment: { enabled: false } } }));
    let now = T0;
    const got = Array.from({ length: 3 }, () => {
      const { decision, failures } = failUntilBanned(state, now);
      now = decision.expiresAtMs + S;
      return [decision.banCount, decision.durationSeconds, failures];
    });
    assert.deepEqual(got, [[1, 60, 1], [2, 60, 1], [3, 60, 1]]);
  });
  await t.test('overalljails counts bans from every jail', () => {
    const config = jailsConfig([], {
      a: { event_types: ['login_failed'], maxretry: 1, findtime: '10m', bantime: '1m', bantime_increment: { overalljails: true } },
      b: { event_types: ['login_failed'], maxretry: 1, findtime: '10m', bantime: '1m', bantime_increment: {} },
    });
    const state = createJailState(config);
    observeBan(state, { ipKey: IP, jail: 'manual', createdAtMs: T0, expiresAtMs: T0 + MIN, liftedAtMs: null }, T0);
    const decisions = feed(state, [ev({ occurredAtMs: T0 + 2 * MIN })]);
    assert.deepEqual(decisions.map((d) => [d.jail, d.banCount, d.durationSeconds]), [['a', 2, 120], ['b', 1, 60]]);
  });
  for (const prune of [false, true]) {
    await t.test(`a ban is forgotten maxtime after it ended (${prune ? 'pruned' : 'not pruned'})`, () => {
      const state = createJailState(jailsConfig(['wordpress']));
      const first = failUntilBanned(state, T0).decision;
      const back = first.expiresAtMs + 7 * D + S;
      if (prune) pruneJailState(state, back);
      const { decision, failures } = failUntilBanned(state, back);
      assert.deepEqual([decision.banCount, decision.durationSeconds, failures], [1, 3600, 5]);
    });
  }
  await t.test('…but not a second earlier', () => {
    const state = createJailState(jailsConfig(['wordpress']));
    const first = failUntilBanned(state, T0).decision;
    const back = first.expiresAtMs + 7 * D - MIN;
    pruneJailState(state, back);
    assert.equal(failUntilBanned(state, back).decision.banCount, 2);
  });
});

test('a repeat offender needs fewer failures (fail2ban: each counts 2^n/2 + 1)', async (t) => {
  const cases: Array<[previousBans: number, failuresNeeded: number, reasonTail: string]> = [
    [0, 5, 'in 10m'],
    [1, 3, 'in 10m, counted as 6 after 1 previous ban'], // 2 each
    [2, 2, 'in 10m, counted as 6 after 2 previous bans'], // 3 each
    [3, 1, 'in 10m, counted as 5 after 3 previous bans'], // 5 each
  ];
  for (const [previousBans, needed, reasonTail] of cases) {
    await t.test(`${previousBans} previous bans → ${needed} failures`, () => {
      const state = createJailState(jailsConfig(['wordpress']));
      let now = T0;
      for (let i = 0; i < previousBans; i++) {
        observeBan(state, { ipKey: IP, jail: 'wordpress', createdAtMs: now, expiresAtMs: now + MIN, liftedAtMs: null }, now);
        now += 2 * MIN;
      }
      const { decision, failures } = failUntilBanned(state, now);
      assert.equal(failures, needed);
      assert.equal(decision.banCount, previousBans + 1);
      assert.ok(decision.reason.endsWith(reasonTail), decision.reason);
    });
  }
});

test('recidive bans an address banned 5 times within a day', async (t) => {
  await t.test('the 5th jail ban brings a recidive ban in the same call', () => {
    const state = createJailState(jailsConfig(['wordpress', 'recidive']));
    let now = T0;
    for (let round = 1; round <= 4; round++) {
      const decisions = feed(state, failures(5, now));
      assert.deepEqual(decisions.map((d) => d.jail), ['wordpress'], `round ${round}`);
      now = decisions[0]!.expiresAtMs + S;
    }
    assert.ok(now - T0 < D);
    const decisions = feed(state, failures(5, now));
    assert.deepEqual(decisions.map((d) => [d.jail, d.banCount, d.durationSeconds]), [['wordpress', 5, 16 * 3600], ['recidive', 1, 604_800]]);
    assert.equal(decisions[1]!.reason, '5 bans (wordpress×5) in 1d');
    assert.deepEqual(decisions[1]!.triggerEventSeqs, []);
  });

  await t.test('bans from observeBan count; bans older than findtime and lifted bans do not', () => {
    const state = createJailState(jailsConfig(['recidive']));
    const ban = (at: number, liftedAtMs: number | null = null): PastBan => ({ ipKey: IP, jail: 'manual', createdAtMs: at, expiresAtMs: at + MIN, liftedAtMs });
    const now = T0 + 2 * D;
    assert.deepEqual(observeBan(state, ban(T0), now), []); // two days ago: outside recidive's 1d
    assert.deepEqual(observeBan(state, ban(now - 5 * H, now - 5 * H + S), now), []); // lifted
    for (let i = 4; i >= 1; i--) assert.deepEqual(observeBan(state, ban(now - i * H), now), [], `ban ${i}`);
    const decisions = observeBan(state, ban(now), now);
    assert.deepEqual(decisions.map((d) => [d.jail, d.reason]), [['recidive', '5 bans (manual×5) in 1d']]);
  });

  await t.test("the service passing the engine's own decisions back does not count them twice", () => {
    const state = createJailState(jailsConfig(['wordpress', 'recidive']));
    let now = T0;
    const all: BanDecision[] = [];
    for (let round = 1; round <= 5; round++) {
      const pending = feed(state, failures(5, now));
      // What the ban service does: store each decision, then observeBan it.
      while (pending.length) {
        const d = pending.shift()!;
        all.push(d);
        pending.push(...observeBan(state, { ipKey: d.ipKey, jail: d.jail, createdAtMs: now + 4 * S, expiresAtMs: d.expiresAtMs, liftedAtMs: null }, now + 4 * S));
      }
      now = all.at(-1)!.expiresAtMs + S;
    }
    assert.deepEqual(all.map((d) => `${d.jail}#${d.banCount}`), ['wordpress#1', 'wordpress#2', 'wordpress#3', 'wordpress#4', 'wordpress#5', 'recidive#1']);
  });
});

test('scope: global counts across sites, site counts per site', async (t) => {
  const spread = () => [...failures(3, T0, { siteId: 'site-a' }), ...failures(2, T0 + 10 * S, { siteId: 'site-b' })];
  await t.test('global (the default): 3 on one site + 2 on another ban', () => {
    assert.equal(feed(createJailState(jailsConfig(['wordpress'])), spread()).length, 1);
  });
  await t.test('site: the same spread does not', () => {
    const state = createJailState(jailsConfig(['wordpress'], { wordpress: { enabled: true, scope: 'site' } }));
    assert.deepEqual(feed(state, spread()), []);
    assert.equal(jailStats(state).trackedKeys.wordpress, 2);
    const decisions = feed(state, failures(2, T0 + 20 * S, { siteId: 'site-a' }));
    assert.equal(decisions.length, 1);
    assert.equal(decisions[0]!.ipKey, IP);
  });
});

test('forgiveness: a successful login forgives that username on that site', async (t) => {
  const success = (partial: Partial<JailEvent> = {}) => ev({ type: 'login_succeeded', occurredAtMs: T0 + 30 * S, ...partial });
  const cases: Array<[name: string, success: JailEvent, overrides: Record<string, unknown>, bannedOnFifth: boolean]> = [
    ['same username (any case) is forgiven', success({ username: 'Alice' }), {}, false],
    ['another username is not', success({ username: 'bob' }), {}, true],
    ['a login on another site is not', success({ siteId: 'site-b' }), {}, true],
    ['a login from another address is not', success({ ipKey: '198.51.100.1' }), {}, true],
    ['forgive_on_success: false', success(), { wordpress: { enabled: true, forgive_on_success: false } }, true],
  ];
  for (const [name, login, overrides, bannedOnFifth] of cases) {
    await t.test(name, () => {
      const state = createJailState(jailsConfig(['wordpress'], overrides));
      assert.deepEqual(feed(state, [...failures(4, T0), login]), []);
      assert.equal(feed(state, [ev({ occurredAtMs: T0 + MIN })]).length, bannedOnFifth ? 1 : 0);
    });
  }
  await t.test('failures for other usernames stay', () => {
    const state = createJailState(jailsConfig(['wordpress']));
    feed(state, [...failures(2, T0), ...failures(2, T0 + 5 * S, { username: 'admin' }), success()]);
    assert.deepEqual(feed(state, failures(2, T0 + MIN)), []);
    assert.equal(feed(state, failures(1, T0 + 2 * MIN)).length, 1);
  });
});

test('an address already banned gets no second decision from that jail', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const { decision } = failUntilBanned(state, T0);
  // Stragglers during the ban and a spool delivering them late after it: none count.
  assert.deepEqual(feed(state, failures(20, T0 + MIN)), []);
  assert.deepEqual(feed(state, failures(20, decision.expiresAtMs - 30 * S), decision.expiresAtMs + S), []);
  assert.equal(jailStats(state).trackedKeys.wordpress, 0);
  // After release, fresh failures count again (3 suffice after one previous ban).
  const again = failUntilBanned(state, decision.expiresAtMs + S);
  assert.deepEqual([again.failures, again.decision.banCount], [3, 2]);
});

test('an admin unban lifts the ban and forgets it for escalation', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const first = failUntilBanned(state, T0);
  const liftAt = first.decision.expiresAtMs - 30 * MIN;
  pruneJailState(state, liftAt); // advances the engine's clock to the lift
  observeUnban(state, IP, null);
  const again = failUntilBanned(state, liftAt + S);
  assert.deepEqual([again.failures, again.decision.banCount, again.decision.durationSeconds], [5, 1, 3600]);
});

test('IPv6 addresses in one /64 count as one attacker', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const events = [
    ...failures(3, T0, { ipKey: ipKeyOf('2001:db8:1:2::1') }),
    ...failures(2, T0 + 10 * S, { ipKey: ipKeyOf('2001:db8:1:2:ffff:ffff:ffff:fffe') }),
  ];
  const decisions = feed(state, events);
  assert.deepEqual(decisions.map((d) => d.ipKey), ['2001:db8:1:2::/64']);
  assert.deepEqual(feed(state, failures(5, T0 + 20 * S, { ipKey: ipKeyOf('2001:db8:1:3::1') })).map((d) => d.ipKey), ['2001:db8:1:3::/64']);
});

test('restore after a restart reproduces counts, escalation and recidive', async (t) => {
  /** Runs events live, storing events and bans as the service would; returns both for a restore. */
  function liveRun(config: ReturnType<typeof jailsConfig>, script: Array<{ events: JailEvent[]; now?: number }>) {
    const state = createJailState(config);
    const stored: JailEvent[] = [];
    const bans: PastBan[] = [];
    for (const step of script) {
      for (const event of step.events) {
        const now = step.now ?? event.occurredAtMs;
        stored.push(event);
        for (const d of observeEvent(state, event, now)) bans.push({ ipKey: d.ipKey, jail: d.jail, createdAtMs: now, expiresAtMs: d.expiresAtMs, liftedAtMs: null });
      }
    }
    return { state, stored, bans };
  }
  const restored = (config: ReturnType<typeof jailsConfig>, stored: JailEvent[], bans: PastBan[], now: number) => {
    const state = createJailState(config);
    // The store hands them back in its own order; restore must not depend on it.
    restoreJailState(state, { events: [...stored].reverse(), bans: [...bans].reverse() }, now);
    return state;
  };

  await t.test('a half-full window and a past ban survive', () => {
    const config = jailsConfig(['wordpress']);
    const release = T0 + 4 * S + H;
    const { state: live, stored, bans } = liveRun(config, [
      { events: failures(5, T0) },
      { events: failures(2, release + MIN) }, // 2 × 2 = 4: one short
      { events: failures(2, release + MIN, { ipKey: '198.51.100.9' }) },
    ]);
    assert.equal(bans.length, 1);
    const now = release + 2 * MIN;
    const back = restored(config, stored, bans, now);
    pruneJailState(live, now);
    assert.deepEqual(jailStats(back), jailStats(live));
    const next = ev({ occurredAtMs: now });
    const fromRestored = observeEvent(back, next, now);
    assert.deepEqual(fromRestored, observeEvent(live, next, now));
    assert.deepEqual(fromRestored.map((d) => [d.banCount, d.durationSeconds]), [[2, 7200]]);
  });

  await t.test('four bans in the history: the fifth brings recidive', () => {
    const config = jailsConfig(['wordpress', 'recidive']);
    const script: Array<{ events: JailEvent[] }> = [];
    let at = T0;
    const durations = [1, 2, 4, 8];
    for (const hours of durations) {
      script.push({ events: failures(5, at) });
      at += 4 * S + hours * H + S;
    }
    const { state: live, stored, bans } = liveRun(config, script);
    assert.equal(bans.length, 4);
    const back = restored(config, stored, bans, at);
    const next = failures(5, at);
    const fromRestored = feed(back, next);
    assert.deepEqual(fromRestored, feed(live, next));
    assert.deepEqual(fromRestored.map((d) => d.jail), ['wordpress', 'recidive']);
  });

  await t.test('a lifted ban in the history does not escalate', () => {
    const config = jailsConfig(['wordpress']);
    const back = createJailState(config);
    restoreJailState(back, { events: [], bans: [{ ipKey: IP, jail: 'wordpress', createdAtMs: T0, expiresAtMs: T0 + H, liftedAtMs: T0 + MIN }] }, T0 + 2 * MIN);
    const { decision, failures: n } = failUntilBanned(back, T0 + 2 * MIN);
    assert.deepEqual([n, decision.banCount], [5, 1]);
  });

  await t.test('a key first met after the restart, its bans read then, decides as if restored with the rest', () => {
    const config = jailsConfig(['wordpress', 'recidive']);
    const other = '198.51.100.23';
    const script: Array<{ events: JailEvent[] }> = [];
    let at = T0;
    for (const hours of [1, 2, 4, 8]) {
      script.push({ events: [...failures(5, at), ...failures(5, at, { ipKey: other })] });
      at += 4 * S + hours * H + S;
    }
    const { stored, bans } = liveRun(config, script);
    assert.equal(bans.length, 8);
    const restart = at;
    const whole = restored(config, [], bans, restart);
    // The lazy restore: nothing at start, each key's bans when it is first met (later).
    const lazy = createJailState(config);
    restoreJailState(lazy, { events: [], bans: [] }, restart);
    assert.equal(lazy.bans.size, 0);
    const metAt = restart + 30 * MIN;
    restoreBanHistory(lazy, IP, bans.filter((b) => b.ipKey === IP), metAt);
    const next = failures(5, metAt);
    const fromLazy = feed(lazy, next);
    assert.deepEqual(fromLazy, feed(whole, next));
    assert.deepEqual(fromLazy.map((d) => [d.jail, d.banCount, d.durationSeconds]), [['wordpress', 5, 16 * 3600], ['recidive', 1, 604_800]]);
    assert.ok(!lazy.bans.has(other), 'the key not met is not read');
    assert.equal(stored.length, 40);
  });

  await t.test("reading a key's history twice, or after the engine forgot it, counts nothing twice", () => {
    const config = jailsConfig(['wordpress', 'recidive']);
    const history: PastBan[] = [1, 2].map((n) => ({ ipKey: IP, jail: 'wordpress', createdAtMs: T0 + n * H, expiresAtMs: T0 + n * H + 10 * MIN, liftedAtMs: null }));
    const now = T0 + 5 * H;
    const state = createJailState(config, { maxBanKeys: 2 });
    restoreBanHistory(state, IP, history, now);
    restoreBanHistory(state, IP, history, now); // remembered: a no-op
    assert.equal(state.bans.list(IP).length, 2);
    // Two other keys banned push IP out (maxBanKeys 2), its recidive count with it...
    for (const key of ['192.0.2.1', '192.0.2.2']) observeBan(state, { ipKey: key, jail: 'manual', createdAtMs: now, expiresAtMs: now + H, liftedAtMs: null }, now);
    assert.ok(!state.bans.has(IP));
    assert.equal(state.jails.find((jail) => jail.name === 'recidive')!.windows.has(IP), false);
    // ...so reading it again from the store counts two bans, not four: a third is no recidive.
    restoreBanHistory(state, IP, history, now);
    const decisions = feed(state, failures(5, now));
    assert.deepEqual(decisions.map((d) => [d.jail, d.banCount]), [['wordpress', 3]]);
  });

  await t.test('a history past memory is forgotten as soon as it is read, as prune would', () => {
    const config = jailsConfig(['wordpress']);
    const state = createJailState(config);
    const old: PastBan = { ipKey: IP, jail: 'wordpress', createdAtMs: T0, expiresAtMs: T0 + H, liftedAtMs: null };
    restoreBanHistory(state, IP, [old], T0 + H + state.banMemoryMs);
    assert.equal(state.bans.size, 0);
    assert.equal(failUntilBanned(state, T0 + 2 * state.banMemoryMs).decision.banCount, 1);
  });

  await t.test('restore issues no decisions even when a window is full', () => {
    const config = jailsConfig(['wordpress']);
    const back = createJailState(config);
    restoreJailState(back, { events: failures(7, T0), bans: [] }, T0 + 10 * S);
    // The ban that was due was lost; the next failure decides it.
    assert.equal(feed(back, failures(1, T0 + 10 * S)).length, 1);
  });
});

test('memory is bounded: least recently updated windows are evicted', () => {
  const state = createJailState(jailsConfig(['wordpress']), { maxTrackedKeys: 3 });
  const key = (n: number) => `198.51.100.${n}`;
  feed(state, [1, 2, 3].map((n) => ev({ ipKey: key(n) })));
  feed(state, [ev({ ipKey: key(1), occurredAtMs: T0 + S })]); // 1 is now the most recently updated
  feed(state, [4, 5].map((n) => ev({ ipKey: key(n), occurredAtMs: T0 + 2 * S })));
  assert.deepEqual(jailStats(state), { trackedKeys: { wordpress: 3 }, evictions: 2 });
  // Key 1 kept its two failures; key 2 lost its one.
  assert.equal(feed(state, failures(3, T0 + 3 * S, { ipKey: key(1) })).length, 1);
  assert.equal(feed(state, failures(4, T0 + 3 * S, { ipKey: key(2) })).length, 0);
});

test('pruning drops windows that have nothing left inside findtime', () => {
  const state = createJailState(jailsConfig(['wordpress', 'wordpress_probe']));
  feed(state, [...failures(2, T0), ev({ type: 'user_enumeration' }), ev({ ipKey: '198.51.100.1', occurredAtMs: T0 + 5 * MIN })]);
  assert.deepEqual(jailStats(state).trackedKeys, { wordpress: 2, wordpress_probe: 1 });
  pruneJailState(state, T0 + 10 * MIN + 2 * S);
  assert.deepEqual(jailStats(state).trackedKeys, { wordpress: 1, wordpress_probe: 0 });
  pruneJailState(state, T0 + 15 * MIN);
  assert.deepEqual(jailStats(state).trackedKeys, { wordpress: 0, wordpress_probe: 0 });
});

test('one event can ban in several jails', () => {
  const state = createJailState(jailsConfig(['blocked_username'], {
    strict: { event_types: ['blocked_username', 'login_failed'], maxretry: 1, findtime: '1m', bantime: '5m' },
  }));
  const decisions = feed(state, [ev({ type: 'blocked_username', username: 'admin' })]);
  assert.deepEqual(decisions.map((d) => [d.jail, d.durationSeconds]), [['blocked_username', 86_400], ['strict', 300]]);
});

test('rebuildKeyState forgets a key in every jail and on every site given, and replays what is stored', () => {
  const config = jailsConfig(['wordpress', 'recidive'], { per_site: { event_types: ['login_failed'], maxretry: 3, findtime: '10m', bantime: '1h', scope: 'site' } });
  const state = createJailState(config);
  const other = '198.51.100.77';
  const a = failures(2, T0, { siteId: 'site-a' });
  const b = failures(2, T0 + 10 * S, { siteId: 'site-b' });
  assert.deepEqual(feed(state, [...a, ...b, ...failures(2, T0, { ipKey: other })]), []);
  // site-b's two were rolled back: only site-a's are stored.
  rebuildKeyState(state, IP, ['site-a', 'site-b'], { events: a, bans: [] }, T0 + MIN);
  // Without the rebuild, site-b's window would reach 3 here and the global one 5.
  assert.deepEqual(feed(state, [ev({ siteId: 'site-b', occurredAtMs: T0 + MIN })], T0 + MIN), []);
  assert.deepEqual(feed(state, [ev({ siteId: 'site-a', occurredAtMs: T0 + MIN })], T0 + MIN).map((d) => d.jail), ['per_site']);
  // Another key is untouched: its two still count, on its site and overall.
  assert.deepEqual(feed(state, failures(3, T0 + MIN, { ipKey: other })).map((d) => d.jail), ['per_site', 'wordpress']);
});

test('rebuildKeyState restores the ban marks from the stored bans only', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const { decision } = failUntilBanned(state, T0);
  assert.equal(decision.banCount, 1);
  // The ban's batch rolled back: no ban is stored, so the next ban is a first offence again.
  rebuildKeyState(state, IP, ['site-a'], { events: [], bans: [] }, decision.expiresAtMs + S);
  assert.equal(failUntilBanned(state, decision.expiresAtMs + 2 * S).decision.banCount, 1);
  // A stored ban is one to escalate from.
  const kept: PastBan = { ipKey: IP, jail: 'wordpress', createdAtMs: T0, expiresAtMs: T0 + H, liftedAtMs: null };
  rebuildKeyState(state, IP, ['site-a'], { events: [], bans: [kept] }, T0 + 2 * H);
  assert.equal(failUntilBanned(state, T0 + 2 * H).decision.banCount, 2);
});

test('a replay puts events of one time in the order they were stored: a success forgives the failures before it', () => {
  // The plugin reports whole seconds: four failures and the success that ends them share one.
  const four = failures(4, T0).map((e) => ({ ...e, occurredAtMs: T0 }));
  const success = ev({ type: 'login_succeeded', occurredAtMs: T0 });
  const newestFirst = [...four, success].reverse(); // as an address's history reads them back
  for (const rebuild of [
    (state: JailState) => restoreJailState(state, { events: newestFirst, bans: [] }, T0 + S),
    (state: JailState) => rebuildKeyState(state, IP, ['site-a'], { events: newestFirst, bans: [] }, T0 + S),
  ]) {
    const state = createJailState(jailsConfig(['wordpress']));
    rebuild(state);
    assert.deepEqual(feed(state, [ev({ occurredAtMs: T0 + S })]), [], 'forgiven: one failure is one');
  }
});

test('rebuildKeyState leaves other keys as they are: no pass over every remembered ban', () => {
  const state = createJailState(jailsConfig(['wordpress']));
  const other = '198.51.100.78';
  const { decision } = failUntilBanned(state, T0, { ipKey: other });
  const later = decision.expiresAtMs + state.banMemoryMs + H;
  rebuildKeyState(state, IP, ['site-a'], { events: [], bans: [] }, later);
  assert.ok(state.bans.has(other), 'past memory, but only a prune forgets it');
  pruneJailState(state, later);
  assert.ok(!state.bans.has(other));
});
