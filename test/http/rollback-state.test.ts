// What a batch does beside its rows goes back with them when its savepoint or the group's
// commit rolls back: the plugin sends the batch again, so whatever stayed would count twice
// or, for a self-unlock, leave an address allowlisted in memory with no row and no audit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SELF_UNLOCKS_PER_SITE_PER_HOUR } from '../../server/core.ts';
import { jailStats } from '../../server/jail/engine.ts';
import { adminHeaders, attempt, postEvents, startService } from '../support/service.ts';
import { stagingOn } from '../support/staging.ts';

const fails = () => {
  throw new Error('the batch fails');
};

test('a self-unlock rolled back with its batch leaves no allowlist entry in force and spends no quota', async () => {
  const svc = await startService();
  try {
    const core = svc.app.core;
    const ips = Array.from({ length: SELF_UNLOCKS_PER_SITE_PER_HOUR + 1 }, (_, i) => `198.51.100.${10 + i}`);
    assert.equal((await postEvents(svc.app, svc.site, ips.map((ip) => attempt(ip)))).statusCode, 200);
    core.bans.transaction(() => {
      assert.throws(() => core.bans.transaction(() => {
        assert.equal(core.selfUnlock(svc.site.id, ips[0]!, 'admin'), 'unlocked');
        assert.equal(core.judgeAddress(ips[0]!)?.protectedBy, 'allowlist', 'in force inside the batch');
        fails();
      }), /the batch fails/);
    });
    assert.equal(core.judgeAddress(ips[0]!)?.protectedBy, null, 'not in force once rolled back');
    assert.deepEqual(core.store.listAllowlist(), []);
    // The whole group's commit failing takes it back as well.
    assert.throws(() => core.bans.transaction(() => {
      core.bans.transaction(() => assert.equal(core.selfUnlock(svc.site.id, ips[1]!, 'admin'), 'unlocked'));
      fails();
    }), /the batch fails/);
    assert.equal(core.judgeAddress(ips[1]!)?.protectedBy, null);
    // The quota is the site's whole hour, none of it spent by the two rolled back.
    const outcomes = ips.map((ip) => core.bans.transaction(() => core.selfUnlock(svc.site.id, ip, 'admin')));
    assert.deepEqual(outcomes, [...Array(SELF_UNLOCKS_PER_SITE_PER_HOUR).fill('unlocked'), 'over_quota']);
  } finally {
    await svc.close();
  }
});

test("a ban rolled back with its batch gives back its share of the site's quota, and a refusal rolled back is audited again", async () => {
  const svc = await startService({ overload: { max_new_bans_per_site_per_minute: 1 } });
  try {
    const { core, stage, groupWhereSecondFails } = stagingOn(svc);
    const attempts = (ip: string, n = 5) => Array.from({ length: n }, () => attempt(ip));
    const refusals = (ip: string) => core.store.auditForIpKey(ip).filter((a) => a.action === 'ban_refused').length;
    // The second batch of the group bans, takes the minute's one new ban, and rolls back.
    groupWhereSecondFails(attempts('192.0.2.60', 2), attempts('203.0.113.30'));
    assert.equal(core.bans.currentBan('203.0.113.30'), null);
    assert.equal(core.bans.transaction(() => stage(attempts('198.51.100.40'))).bansCreated, 1, 'the quota is free again');
    // Now spent: a refusal is audited once a minute per site, and one rolled back is no entry.
    groupWhereSecondFails(attempts('192.0.2.61', 2), attempts('203.0.113.31'));
    assert.equal(refusals('203.0.113.31'), 0);
    assert.equal(core.bans.transaction(() => stage(attempts('198.51.100.41'))).bansCreated, 0);
    assert.equal(refusals('198.51.100.41'), 1, 'the refusal after the rolled-back one is audited');
    // A minute on, with refusals left uncounted in the audit since that entry: the next entry
    // still says how many, after a rolled-back one in between.
    core.bans.transaction(() => stage(attempts('198.51.100.42')));
    const later = Date.now() + 61_000;
    assert.equal(core.bans.transaction(() => stage(attempts('198.51.100.43'), later)).bansCreated, 1);
    groupWhereSecondFails(attempts('192.0.2.62', 2), attempts('203.0.113.32'), later);
    core.bans.transaction(() => stage(attempts('198.51.100.44'), later));
    const [entry] = core.store.auditForIpKey('198.51.100.44').filter((a) => a.action === 'ban_refused');
    assert.equal(JSON.parse(String(entry!.detail)).refused_since_previous_entry, 1, "198.51.100.42's refusal, counted once");
  } finally {
    await svc.close();
  }
});

test('a refusal rolled back with its batch is counted neither by the metric nor by the next audit entry', async () => {
  const svc = await startService({ overload: { max_new_bans_per_site_per_minute: 1 } });
  try {
    const { core, stage, groupWhereSecondFails } = stagingOn(svc);
    const attempts = (ip: string, n = 5) => Array.from({ length: n }, () => attempt(ip));
    const refusedTotal = async () => {
      const text = (await svc.app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders })).body;
      return [...text.matchAll(/^edgejail_bans_refused_total\{cause="\w+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    assert.equal(core.bans.transaction(() => stage(attempts('198.51.100.50'))).bansCreated, 1, "the minute's one new ban");
    assert.equal(core.bans.transaction(() => stage(attempts('198.51.100.51'))).bansCreated, 0);
    assert.equal(await refusedTotal(), 1);
    // Refused inside a batch that rolls back: the plugin sends it again, and that one counts.
    groupWhereSecondFails(attempts('192.0.2.63', 2), attempts('203.0.113.33'));
    assert.equal(await refusedTotal(), 1, 'the rolled-back refusal is not counted');
    core.bans.transaction(() => stage(attempts('203.0.113.33')));
    assert.equal(await refusedTotal(), 2, 'the batch sent again is');
    // A minute on, the entry that follows counts the refusals since the last one that were kept.
    const later = Date.now() + 61_000;
    assert.equal(core.bans.transaction(() => stage(attempts('198.51.100.52'), later)).bansCreated, 1);
    core.bans.transaction(() => stage(attempts('198.51.100.53'), later));
    const [entry] = core.store.auditForIpKey('198.51.100.53').filter((a) => a.action === 'ban_refused');
    assert.equal(JSON.parse(String(entry!.detail)).refused_since_previous_entry, 1, "203.0.113.33's refusal, counted once");
  } finally {
    await svc.close();
  }
});

test('a login shield raised by a batch that rolled back is down again, and the batch sent again raises it', async () => {
  const svc = await startService({}, {}, { CLOUDFLARE_ZONE_ID: 'fedcba9876543210fedcba9876543210' });
  try {
    const { core, stage, groupWhereSecondFails } = stagingOn(svc, { shield: true });
    const users = ['admin', 'administrator', 'shop', 'test'];
    // 2,000 addresses × 3 wrong passwords: no jail bans, the shield's detector raises.
    const botnet = Array.from({ length: 6000 }, (_, i) => attempt(`198.51.${100 + Math.floor((i % 2000) / 250)}.${((i % 2000) % 250) + 1}`, { username: users[i % 4] }));
    const upRows = () => core.db.prepare("SELECT count(*) FROM shields WHERE state = 'up'").pluck().get();
    groupWhereSecondFails([attempt('192.0.2.70')], botnet);
    assert.deepEqual(core.shield.answerFor(svc.site.id), { up: false });
    assert.equal(upRows(), 0);
    core.bans.transaction(() => stage(botnet.slice(0, 100)));
    assert.equal(core.shield.answerFor(svc.site.id).up, true, 'the window was kept: a hundred more raise it');
    assert.equal(upRows(), 1);
  } finally {
    await svc.close();
  }
});

test('two self-unlocks in one millisecond, one rolled back: the other still counts against the quota', async () => {
  const at = Date.now();
  const svc = await startService({}, { now: () => at });
  try {
    const core = svc.app.core;
    const ips = Array.from({ length: SELF_UNLOCKS_PER_SITE_PER_HOUR + 1 }, (_, i) => `198.51.100.${60 + i}`);
    assert.equal((await postEvents(svc.app, svc.site, ips.map((ip) => attempt(ip)))).statusCode, 200);
    core.bans.transaction(() => {
      core.bans.transaction(() => assert.equal(core.selfUnlock(svc.site.id, ips[0]!, 'admin'), 'unlocked'));
      assert.throws(() => core.bans.transaction(() => {
        core.selfUnlock(svc.site.id, ips[1]!, 'admin');
        fails();
      }), /the batch fails/);
    });
    const outcomes = ips.slice(1).map((ip) => core.bans.transaction(() => core.selfUnlock(svc.site.id, ip, 'admin')));
    assert.deepEqual(outcomes, [...Array(SELF_UNLOCKS_PER_SITE_PER_HOUR - 1).fill('unlocked'), 'over_quota']);
  } finally {
    await svc.close();
  }
});

test("a self-unlock's unban rolled back leaves the ban in the jails' memory too: no second ban for the key", async () => {
  const svc = await startService();
  try {
    const { core, stage } = stagingOn(svc);
    const X = '203.0.113.40';
    const five = () => [1, 2, 3, 4, 5].map(() => attempt(X));
    assert.equal(core.bans.transaction(() => stage(five())).bansCreated, 1);
    core.bans.transaction(() => {
      assert.throws(() => core.bans.transaction(() => {
        assert.equal(core.selfUnlock(svc.site.id, X, 'admin'), 'unlocked');
        assert.equal(core.bans.currentBan(X), null, 'lifted inside the batch');
        fails();
      }), /the batch fails/);
    });
    assert.ok(core.bans.currentBan(X), 'banned again once rolled back');
    core.bans.transaction(() => stage(five()));
    assert.equal(core.store.activeBansForIpKey(X).length, 1, 'one active ban, not a second');
  } finally {
    await svc.close();
  }
});

test('a window a rolled-back batch pushed out at the key cap comes back with its count', async () => {
  const cap = 1_000;
  const svc = await startService({ overload: { max_tracked_keys_per_jail: cap } });
  try {
    const { core, stage, groupWhereSecondFails } = stagingOn(svc);
    const oldest = '203.0.113.50';
    const others = Array.from({ length: cap - 1 }, (_, i) => `23.7.${i >> 8}.${i & 255}`);
    core.bans.transaction(() => stage([1, 2, 3, 4].map(() => attempt(oldest))));
    core.bans.transaction(() => stage(others.map((ip) => attempt(ip))));
    assert.equal(jailStats(core.jails).trackedKeys.wordpress, cap, 'the jail is at its cap');
    // A new key in the failing batch pushes the oldest window out, then goes with the rollback.
    groupWhereSecondFails([attempt(others[0]!)], [attempt('198.51.100.50')]);
    assert.equal(jailStats(core.jails).trackedKeys.wordpress, cap);
    assert.equal(core.bans.transaction(() => stage([attempt(oldest)])).bansCreated, 1, 'its four stored failures still count: the fifth bans');
    // The whole group's commit failing brings it back as well.
    const next = '203.0.113.51';
    core.bans.transaction(() => stage([1, 2, 3, 4].map(() => attempt(next))));
    core.bans.transaction(() => stage(others.map((ip) => attempt(ip))));
    assert.throws(() => core.bans.transaction(() => {
      core.bans.transaction(() => stage([attempt('198.51.100.51')]));
      fails();
    }), /the batch fails/);
    assert.equal(core.bans.transaction(() => stage([attempt(next)])).bansCreated, 1);
  } finally {
    await svc.close();
  }
});
