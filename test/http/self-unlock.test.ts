// A site's user who opened the plugin's unlock link: the signed `self_unlock` event lifts
// that address's bans (through the ban service, so Cloudflare hears of it), allowlists the
// address for `unlock_ttl`, audits both as `user:<login>`, and is applied once however often
// the batch is retried.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { addSite, adminHeaders, attempt, signedHeaders, startService } from '../support/service.ts';
import { SELF_UNLOCKS_PER_SITE_PER_HOUR } from '../../server/core.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let clock = Date.now();
before(async () => {
  svc = await startService({ unlock_ttl: '2h' }, { now: () => clock });
});
after(async () => svc.close());

// Signed by the service's own (test) clock, which the second test moves on.
async function postEvents(_app: unknown, site: typeof svc.site, events: unknown[]) {
  const body = JSON.stringify({ events });
  return svc.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body, Math.floor(clock / 1000)), payload: body });
}
const unlock = (ip: string, username = 'owner') => ({ id: randomUUID(), type: 'self_unlock', ip, occurred_at: new Date(clock).toISOString(), username });

test('a self-unlock lifts the ban through the ban service, allowlists the address for unlock_ttl and is audited as the user', async () => {
  const ban = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, () => attempt('198.51.100.90')));
  assert.equal(ban.json().decisions[0]?.ip_key, '198.51.100.90', ban.body);
  const cursor = ban.json().unbanned.cursor;

  const event = unlock('198.51.100.90');
  const res = await postEvents(svc.app, svc.site, [event]);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().accepted, 1);
  assert.equal(svc.app.core.bans.currentBan('198.51.100.90'), null, 'the ban is gone');
  assert.ok(res.json().unbanned.cursor > cursor);

  const audit = svc.app.core.db.prepare("SELECT action, actor FROM audit_log WHERE ip_key = '198.51.100.90' AND action IN ('unban', 'allowlist_add') ORDER BY id").all();
  assert.deepEqual(audit, [
    { action: 'allowlist_add', actor: 'user:owner' },
    { action: 'unban', actor: 'user:owner' },
  ]);
  // Lifted by the ban service itself: the same unban that tells Cloudflare.
  const row = svc.app.core.db.prepare("SELECT state, lifted_by FROM bans WHERE ip_key = '198.51.100.90'").get();
  assert.deepEqual(row, { state: 'lifted', lifted_by: 'user:owner' });

  const entry = svc.app.core.store.listAllowlist().find((e) => e.cidr === '198.51.100.90');
  assert.equal(entry?.expires_at, new Date(clock + 2 * 3600_000).toISOString());
  const again = await postEvents(svc.app, svc.site, Array.from({ length: 6 }, () => attempt('198.51.100.90')));
  assert.deepEqual(again.json().decisions, [], 'allowlisted: typos no longer ban');

  const retried = await postEvents(svc.app, svc.site, [event]);
  assert.equal(retried.json().duplicates, 1, 'a retried batch is not a second unlock');
});

test('the allowlisting ends after unlock_ttl', async () => {
  await postEvents(svc.app, svc.site, [attempt('198.51.100.91', { occurred_at: new Date(clock).toISOString() }), unlock('198.51.100.91')]);
  assert.equal(svc.app.core.ignoreLists().allowlist.contains('198.51.100.91'), true);
  clock += 2 * 3600_000 + 1000;
  assert.ok(svc.app.core.expireAllowlist() >= 1);
  assert.equal(svc.app.core.ignoreLists().allowlist.contains('198.51.100.91'), false);
  assert.equal(svc.app.core.store.listAllowlist().some((e) => e.cidr === '198.51.100.91'), false, 'the entry is removed');
  assert.equal(svc.app.core.judgeAddress('198.51.100.91')?.protectedBy, null, 'bannable again');
  const expired = svc.app.core.db.prepare("SELECT actor FROM audit_log WHERE action = 'allowlist_expire' AND ip_key = '198.51.100.91'").all();
  assert.deepEqual(expired, [{ actor: 'system' }]);
});

test('a self-unlock never shortens an allowlisting for good, and needs a username', async () => {
  await svc.app.inject({ method: 'POST', url: '/v1/allowlist', headers: adminHeaders, payload: { cidr: '198.51.100.92' } });
  await postEvents(svc.app, svc.site, [unlock('198.51.100.92')]);
  assert.equal(svc.app.core.store.listAllowlist().find((e) => e.cidr === '198.51.100.92')?.expires_at, null);

  const bad = await postEvents(svc.app, svc.site, [{ ...unlock('198.51.100.93'), username: '' }]);
  assert.equal(bad.statusCode, 400, bad.body);
  assert.match(bad.json().message, /events\[0\]\.username: must name the user/);
});

test('a site can unlock only addresses it reported itself, and only a few an hour: a leaked secret frees no botnet', async () => {
  const own = await startService();
  try {
    const post = async (site: typeof own.site, events: unknown[]) => {
      const body = JSON.stringify({ events });
      return own.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body), payload: body });
    };
    const unlockNow = (ip: string) => ({ id: randomUUID(), type: 'self_unlock', ip, occurred_at: new Date().toISOString(), username: 'mallory' });
    const other = addSite(own.app, 'other-site');
    const ban = await post(own.site, Array.from({ length: 5 }, () => attempt('198.51.100.94')));
    assert.equal(ban.json().decisions[0]?.ip_key, '198.51.100.94', ban.body);

    // The other site never saw this address: its unlock is refused, audited, and the ban stays.
    const foreign = await post(other, [unlockNow('198.51.100.94')]);
    assert.equal(foreign.statusCode, 200, foreign.body);
    assert.ok(own.app.core.bans.currentBan('198.51.100.94'), 'still banned');
    assert.equal(own.app.core.ignoreLists().allowlist.contains('198.51.100.94'), false);
    const refused = own.app.core.db.prepare("SELECT actor, detail FROM audit_log WHERE action = 'self_unlock_refused' AND ip_key = '198.51.100.94'").all() as Array<{ actor: string; detail: string }>;
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.actor, 'user:mallory');
    assert.equal(JSON.parse(refused[0]!.detail).why, 'not_reported_here');

    // Reporting first does not buy a botnet either: past the hourly quota, unlocks are refused.
    const ips = Array.from({ length: SELF_UNLOCKS_PER_SITE_PER_HOUR + 5 }, (_, i) => `203.0.113.${100 + i}`);
    await post(other, ips.map((ip) => attempt(ip)));
    await post(other, ips.map((ip) => unlockNow(ip)));
    const freed = ips.filter((ip) => own.app.core.ignoreLists().allowlist.contains(ip));
    assert.equal(freed.length, SELF_UNLOCKS_PER_SITE_PER_HOUR);
    const overQuota = own.app.core.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'self_unlock_refused' AND detail LIKE '%over_quota%'").get() as { n: number };
    assert.equal(overQuota.n, 5);
  } finally {
    await own.close();
  }
});
