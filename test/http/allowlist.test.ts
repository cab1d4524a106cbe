// Allowlisting is how a locked-out owner gets back in: from the API, the dashboard or the
// CLI, it lifts every ban the range covers (at Cloudflare too), the running service follows
// the CLI, and a range is stored the way it is meant ("203.0.113.77/24" is 203.0.113.0/24).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, addSite, adminHeaders, attempt, postEvents, signedHeaders, startService, tempDir, testConfig } from '../support/service.ts';
import { buildApp } from '../../server/app.ts';
import { runCli, startServiceProcess } from '../support/process.ts';
import { csrfOf, signIn, type DashboardClient } from '../browser/dashboard-client.ts';
import { startFakeCloudflare } from '../fake-cloudflare/server.ts';
import { waitFor } from '../e2e/support/poll.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let admin: DashboardClient;
before(async () => {
  svc = await startService();
  admin = await signIn(svc.app, ADMIN_TOKEN);
});
after(async () => svc.close());

const five = (ip: string) => Array.from({ length: 5 }, () => attempt(ip));
async function banByEvents(ip: string, ipKey = ip): Promise<void> {
  const res = await postEvents(svc.app, svc.site, five(ip));
  assert.equal(res.json().decisions[0]?.ip_key, ipKey, res.body);
}
const banned = (ipKey: string) => svc.app.core.bans.currentBan(ipKey) !== null;
const allowlistApi = (payload: Record<string, unknown>) => svc.app.inject({ method: 'POST', url: '/v1/allowlist', headers: adminHeaders, payload });

test('the dashboard allowlisting a /28 lifts the bans inside it (198.51.100.12–14 in 198.51.100.0/28)', async () => {
  for (const ip of ['198.51.100.12', '198.51.100.13', '198.51.100.14', '198.51.100.16']) await banByEvents(ip);
  const res = await admin.post('/dashboard/allowlist', { cidr: '198.51.100.0/28', note: 'office', back: 'overview' });
  assert.equal(res.statusCode, 303, res.body);
  for (const ip of ['198.51.100.12', '198.51.100.13', '198.51.100.14']) assert.equal(banned(ip), false, `${ip} must be lifted`);
  assert.equal(banned('198.51.100.16'), true, 'outside the /28: still banned');
  const unbans = svc.app.core.db
    .prepare("SELECT ip_key, actor FROM audit_log WHERE action = 'unban' AND ip_key LIKE '198.51.100.%' ORDER BY ip_key")
    .all();
  assert.deepEqual(unbans, ['198.51.100.12', '198.51.100.13', '198.51.100.14'].map((ip_key) => ({ ip_key, actor: 'admin:dashboard' })));
  const rows = svc.app.core.db.prepare("SELECT state, lifted_by FROM bans WHERE ip_key IN ('198.51.100.12', '198.51.100.13', '198.51.100.14')").all();
  assert.deepEqual(rows, Array(3).fill({ state: 'lifted', lifted_by: 'admin:dashboard' }));
  const overview = await admin.get('/dashboard');
  assert.match(overview.body, /Lifted 3 bans/);
});

test('the API allowlisting one address lifts the /64 ban around it', async () => {
  await postEvents(svc.app, svc.site, Array.from({ length: 5 }, (_, i) => attempt(`2001:db8:5:5::${i + 10}`)));
  assert.equal(banned('2001:db8:5:5::/64'), true);
  const res = await allowlistApi({ cidr: '2001:db8:5:5::1' });
  assert.equal(res.statusCode, 201, res.body);
  assert.deepEqual(res.json(), { cidr: '2001:db8:5:5::1', lifted: 1, lifted_ip_keys: ['2001:db8:5:5::/64'] });
  assert.equal(banned('2001:db8:5:5::/64'), false);
  const owner = await postEvents(svc.app, svc.site, [attempt('2001:db8:5:5::1')]);
  assert.deepEqual(owner.json().decisions, []);
});

test('a range is stored with its host bits cleared, and removed by either spelling', async () => {
  const res = await allowlistApi({ cidr: '203.0.113.77/24', note: 'lab' });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().cidr, '203.0.113.0/24');
  const list = await svc.app.inject({ method: 'GET', url: '/v1/allowlist', headers: adminHeaders });
  assert.ok(list.json().runtime.some((e: { cidr: string }) => e.cidr === '203.0.113.0/24'));
  assert.ok(!list.json().runtime.some((e: { cidr: string }) => e.cidr === '203.0.113.77/24'));
  const del = await svc.app.inject({ method: 'DELETE', url: `/v1/allowlist/${encodeURIComponent('203.0.113.77/24')}`, headers: adminHeaders });
  assert.equal(del.statusCode, 200, del.body);
  assert.equal(svc.app.core.ignoreLists().allowlist.contains('203.0.113.5'), false);
});

test('0.0.0.0/0 and ::/0 are refused unless forced', async () => {
  for (const cidr of ['0.0.0.0/0', '::/0', '::ffff:0.0.0.0/96', '10.1.2.3/0']) {
    const res = await allowlistApi({ cidr });
    assert.equal(res.statusCode, 422, `${cidr}: ${res.body}`);
    assert.equal(res.json().error, 'allowlist_too_wide');
    assert.match(res.json().message, /force/);
  }
  assert.equal(svc.app.core.ignoreLists().allowlist.contains('8.8.8.8'), false);
  const dashboard = await admin.refused('/dashboard/allowlist', { cidr: '0.0.0.0/0', back: 'overview' });
  assert.match(dashboard.alert, /every IPv4 address/);

  const forced = await allowlistApi({ cidr: '::/0', force: true });
  assert.equal(forced.statusCode, 201, forced.body);
  assert.equal(svc.app.core.ignoreLists().allowlist.contains('2001:db8::1'), true);
  const audit = svc.app.core.db.prepare("SELECT detail FROM audit_log WHERE action = 'allowlist_add' AND ip_key = '::/0'").get() as { detail: string };
  assert.equal(JSON.parse(audit.detail).force, true, 'a forced entry says so in the audit log');
  assert.equal((await svc.app.inject({ method: 'DELETE', url: `/v1/allowlist/${encodeURIComponent('::/0')}`, headers: adminHeaders })).statusCode, 200);
});

test('the dashboard lists the allowlist with a remove button per runtime entry, CSRF-checked', async () => {
  await allowlistApi({ cidr: '192.0.2.64/26', note: 'monitoring <probe>' });
  const page = await admin.get('/dashboard');
  assert.match(page.body, /<th scope="row" class="mono">192\.0\.2\.64\/26<\/th><td>monitoring &lt;probe&gt;<\/td>/);
  assert.match(page.body, /aria-label="Remove 192\.0\.2\.64\/26 from the allowlist"/);

  const forged = await admin.post('/dashboard/allowlist/remove', { cidr: '192.0.2.64/26' }, 'not-the-token');
  assert.equal(forged.statusCode, 403);
  assert.equal(svc.app.core.ignoreLists().allowlist.contains('192.0.2.65'), true);

  const removed = await admin.post('/dashboard/allowlist/remove', { cidr: '192.0.2.64/26' }, csrfOf(page.body));
  assert.equal(removed.statusCode, 303, removed.body);
  assert.equal(svc.app.core.ignoreLists().allowlist.contains('192.0.2.65'), false);
  const again = await admin.refused('/dashboard/allowlist/remove', { cidr: '192.0.2.64/26' });
  assert.match(again.alert, /192\.0\.2\.64\/26 is not on the runtime allowlist/);
});

test('edgejail allow reaches a running service: its bans are lifted at Cloudflare and the address is counted no more', async () => {
  const fake = await startFakeCloudflare();
  const tmp = tempDir();
  const env = {
    EDGEJAIL_DATA_DIR: tmp.dir,
    EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN,
    CLOUDFLARE_API_TOKEN: fake.token,
    CLOUDFLARE_ACCOUNT_ID: fake.accountId,
    CLOUDFLARE_BASE_URL: fake.baseURL,
  };
  const site = JSON.parse(runCli(['site', 'add', 'owner', '--json'], env).stdout);
  const service = await startServiceProcess(env);
  const send = async (ip: string, n: number) => {
    const body = JSON.stringify({ events: Array.from({ length: n }, () => attempt(ip)) });
    return (await fetch(`${service.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body })).json() as Promise<{ decisions: unknown[] }>;
  };
  try {
    // The service refreshes its allowlist from the database, not only at restart.
    assert.equal(runCli(['allow', '198.51.100.40'], env).status, 0);
    await waitFor('the running service to honour the new entry', async () => (await send('198.51.100.40', 5)).decisions.length === 0, { timeoutMs: 30_000 });
    const row = (await (await fetch(`${service.url}/v1/ips/198.51.100.40`, { headers: adminHeaders })).json()) as { events: Array<{ ignored_reason: string | null }> };
    assert.equal(row.events[0]?.ignored_reason, 'allowlist');

    const owners = ['198.51.100.12', '198.51.100.13', '198.51.100.14'];
    for (const ip of owners) assert.equal((await send(ip, 5)).decisions.length, 1, ip);
    await waitFor('the bans at Cloudflare', () => owners.every((ip) => fake.isBlocked(ip)), { timeoutMs: 30_000 });

    const allow = runCli(['allow', '198.51.100.0/28', '--note', 'the office'], env);
    assert.equal(allow.status, 0, allow.stderr);
    assert.match(allow.stdout, /^allowlisted 198\.51\.100\.0\/28\nlifted 3 bans on /);
    await waitFor('the lifts at Cloudflare', () => owners.every((ip) => !fake.isBlocked(ip)), { timeoutMs: 30_000 });
    await waitFor('the owner no longer told it is banned', async () => (await send('198.51.100.13', 5)).decisions.length === 0, { timeoutMs: 30_000 });

    const list = runCli(['allowlist', '--json'], env);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).runtime.map((e: { cidr: string; note: string | null }) => [e.cidr, e.note]), [['198.51.100.40', null], ['198.51.100.0/28', 'the office']]);
    assert.match(runCli(['allowlist'], env).stdout, /198\.51\.100\.0\/28\s+runtime\s+the office/);

    const wide = runCli(['allow', '0.0.0.0/0'], env);
    assert.equal(wide.status, 1);
    assert.match(wide.stderr, /every IPv4 address.*--force/);
    assert.equal(runCli(['allow', '0.0.0.0/0', '--force'], env).status, 0);
    assert.equal(runCli(['disallow', '0.0.0.0/0'], env).status, 0);
  } finally {
    await service.stop();
    await fake.close();
    tmp.cleanup();
  }
});

test('an address the config allowlists while the service is down has its ban lifted once the service is up again', async () => {
  const tmp = tempDir();
  try {
    const first = await buildApp(testConfig(tmp.dir), { backgroundJobs: false });
    const site = addSite(first);
    for (const ip of ['192.0.2.55', '192.0.2.56']) {
      const res = await postEvents(first, site, five(ip));
      assert.equal(res.json().decisions[0]?.ip_key, ip, res.body);
    }
    await first.close();
    // The admin adds the office address to the config file and restarts.
    const second = await buildApp(testConfig(tmp.dir, { allowlist: ['192.0.2.55'] }));
    try {
      await second.ready();
      await waitFor('the allowlisted address to be lifted', () => second.core.bans.currentBan('192.0.2.55') === null);
      const lifted = second.core.store.bansForIpKey('192.0.2.55')[0]!;
      assert.deepEqual([lifted.state, lifted.lifted_by], ['lifted', 'system']);
      assert.notEqual(second.core.bans.currentBan('192.0.2.56'), null, 'its neighbour stays banned');
    } finally {
      await second.close();
    }
  } finally {
    tmp.cleanup();
  }
});
