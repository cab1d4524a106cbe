// Every ban shows where it is enforced, in GET /v1/bans and on the dashboard, and the
// status and metrics show bans per placement, capacity used and the outbox lag: the real
// app over real SQLite, enforcing through the real SDK against the fake Cloudflare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, tempDir, testConfig } from '../support/service.ts';
import { buildApp } from '../../server/app.ts';
import { startFakeCloudflare } from '../fake-cloudflare/server.ts';
import { parseCloudflareConfig } from '../../server/cloudflare/config.ts';
import { signIn } from '../browser/dashboard-client.ts';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

test('GET /v1/bans, /v1/status and /metrics show each ban\'s placement, capacity used and outbox lag', { timeout: 60_000 }, async () => {
  const fake = await startFakeCloudflare({ bulkOperationMs: 10 });
  const { dir, cleanup } = tempDir();
  const cloudflare = parseCloudflareConfig({
    api_token: fake.token, account_id: fake.accountId, base_url: fake.baseURL, backend: 'list',
    list_capacity: 2, access_rule_capacity: 1, bulk_poll: { initial_ms: 10, max_ms: 50 }, retry: { base_ms: 20, max_ms: 200 },
  });
  const app = await buildApp({ ...testConfig(dir), cloudflare }, { backgroundJobs: false });
  try {
    await app.ready();
    // Longer bans cost the origin more: the shortest is the one left at the origin.
    const ips = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'];
    for (const [i, ip] of ips.entries()) {
      const res = await app.inject({ method: 'POST', url: '/v1/bans', headers: admin, payload: { ip, duration: `${4 - i}h`, reason: 'test' } });
      assert.equal(res.statusCode, 201, res.body);
    }
    const placements = async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/bans', headers: admin });
      return Object.fromEntries((res.json().bans as Array<{ ip_key: string; placement: string }>).map((b) => [b.ip_key, b.placement]));
    };
    while (Object.values(await placements()).includes('pending')) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await placements(), { '198.51.100.1': 'list', '198.51.100.2': 'list', '198.51.100.3': 'access_rule', '198.51.100.4': 'origin_only' });

    // The status counts bans at most once a second while they change: wait for it to catch up.
    const readStatus = async () => (await app.inject({ method: 'GET', url: '/v1/status', headers: admin })).json().cloudflare;
    let status = await readStatus();
    while (status.placements.pending > 0 || status.placements.origin_only === 0) {
      await new Promise((r) => setTimeout(r, 50));
      status = await readStatus();
    }
    assert.deepEqual(status.placements, { list: 2, access_rule: 1, range: 0, origin_only: 1, pending: 0 });
    assert.deepEqual(status.capacity, { list: { used: 2, capacity: 2 }, access_rule: { used: 1, capacity: 1 } });
    assert.equal(typeof status.outboxLagMs, 'number');

    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /edgejail_bans_by_placement\{placement="origin_only"\} 1/);
    assert.match(metrics, /edgejail_cloudflare_capacity_used\{placement="list"\} 2/);
    assert.match(metrics, /edgejail_cloudflare_outbox_lag_seconds 0/);

    const board = await (await signIn(app, ADMIN_TOKEN)).get('/dashboard');
    assert.equal(board.statusCode, 200);
    assert.match(board.body, /<span class="placement"[^>]*>origin only<\/span>/);
    assert.match(board.body, /Capacity: list/);
  } finally {
    await app.close();
    await fake.close();
    cleanup();
  }
});
