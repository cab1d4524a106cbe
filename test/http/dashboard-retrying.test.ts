// During a Cloudflare outage a ban whose push is being retried must not read as final:
// the dashboard says "retrying (attempt N, next in X s)" from the outbox, and keeps
// "failed" for what the enforcer has given up on. The real enforcer and SDK against the
// fake Cloudflare API answering 503.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, attempt, postEvents, startService, tempDir } from '../support/service.ts';
import { signIn, type DashboardClient } from '../browser/dashboard-client.ts';
import { startFakeCloudflare, type FakeCloudflare } from '../fake-cloudflare/server.ts';
import { waitFor } from '../e2e/support/poll.ts';

let fake: FakeCloudflare;
let svc: Awaited<ReturnType<typeof startService>>;
let admin: DashboardClient;
let configDir: ReturnType<typeof tempDir>;

const ATTACKER = '203.0.113.90';

before(async () => {
  fake = await startFakeCloudflare();
  // Every create answers 503; a long backoff keeps the ban waiting for its next attempt.
  fake.injectFault({ kind: 'server_error', status: 503, match: { method: 'POST', pathIncludes: '/access_rules/' }, times: 1_000 });
  configDir = tempDir('edgejail-config-');
  const configFile = join(configDir.dir, 'edgejail.json');
  writeFileSync(configFile, JSON.stringify({ cloudflare: { retry: { base_ms: 40_000, max_ms: 40_000 }, sdk: { max_retries: 0, timeout_ms: 5_000 } } }));
  svc = await startService({}, {}, {
    EDGEJAIL_CONFIG: configFile,
    CLOUDFLARE_API_TOKEN: fake.token,
    CLOUDFLARE_ACCOUNT_ID: fake.accountId,
    CLOUDFLARE_BASE_URL: fake.baseURL,
  });
  admin = await signIn(svc.app, ADMIN_TOKEN);
});
after(async () => {
  await svc?.close();
  await fake?.close();
  configDir?.cleanup();
});

const outboxRow = (ipKey: string) =>
  svc.app.core.db.prepare('SELECT attempts, next_attempt_at, last_error FROM enforcement_outbox WHERE ip_key = ?').get(ipKey) as
    | { attempts: number; next_attempt_at: string; last_error: string | null }
    | undefined;

/** The active bans table's row for an ip_key. */
function banRow(page: string, ipKey: string): string {
  const table = page.slice(page.indexOf('<table class="bans'), page.indexOf('</table>', page.indexOf('<table class="bans')));
  const row = table.split('<tr>').find((r) => r.includes(`>${ipKey}</a>`));
  assert.ok(row, `no row for ${ipKey} in the active bans table`);
  return row;
}

test('a ban whose push Cloudflare answered 503 reads "retrying (attempt 2, next in N s)", not failed', async () => {
  const res = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, () => attempt(ATTACKER)));
  assert.equal(res.json().decisions[0]?.ip_key, ATTACKER);
  const row = await waitFor('the first attempt to fail and be rescheduled', () => {
    const r = outboxRow(ATTACKER);
    return r && r.attempts >= 1 && r.last_error ? r : null;
  }, { timeoutMs: 30_000 });
  assert.match(row.last_error!, /Internal server error/);
  assert.equal(svc.app.enforcer.enforcementStateOf(ATTACKER), 'failed', 'the enforcer itself records the attempt as failed');

  const page = (await admin.get('/dashboard')).body;
  const cells = banRow(page, ATTACKER);
  const shown = /retrying \(attempt (\d+), next in (\d+) s\)/.exec(cells);
  assert.ok(shown, `no retry shown: ${cells}`);
  assert.equal(Number(shown[1]), row.attempts + 1, 'the attempt it waits for');
  const seconds = Number(shown[2]);
  assert.ok(seconds >= 1 && seconds <= 40, `next in ${seconds} s, within the 40 s backoff`);
  assert.doesNotMatch(cells, />failed</);
  assert.match(cells, /title="[^"]*Internal server error/, "the last error is at hand");

  const ipPage = (await admin.get(`/dashboard/ip?key=${ATTACKER}`)).body;
  assert.match(ipPage, /retrying \(attempt \d+, next in \d+ s\)/);
  // The Cloudflare card splits failed blocks into retried and stuck ones.
  assert.match(page, /<span class="badge badge-busy">retrying<\/span> 1 /);
  assert.match(page, /1 retrying after an error/);
  assert.match(page, /<dt>Cloudflare<\/dt><dd><span class="stat-value">enforcing<\/span><span class="stat-note">1 push retrying after an error<\/span>/);
});

test('a block the enforcer gave up on still reads "failed", and says it needs a person', async () => {
  // A key Cloudflare cannot block (an IPv4 /25): the enforcer refuses it for good, no retry.
  svc.app.core.bans.manualBan({ ipKey: '198.51.100.0/25', durationSeconds: 3600, reason: 'left by an older version', actor: 'admin:test' });
  await waitFor('the enforcer to give the key up', () => {
    const state = svc.app.enforcer.enforcementStateOf('198.51.100.0/25');
    return state === 'failed' && !outboxRow('198.51.100.0/25');
  }, { timeoutMs: 30_000 });

  const page = (await admin.get('/dashboard')).body;
  const cells = banRow(page, '198.51.100.0/25');
  assert.match(cells, /<span class="badge badge-bad"[^>]*>failed<\/span>/);
  assert.match(cells, /needs a person/);
  assert.match(cells, /IPv4 ranges must be \/16 or \/24/);
  assert.doesNotMatch(cells, /retrying/);
  assert.match(page, /<span class="badge badge-bad">failed<\/span> 1 <span class="needs-person">need a person<\/span>/);
  assert.match(page, /<span class="stat-note">1 block failed: needs a person<\/span>/);
  // The retried one is still a retry.
  assert.match(banRow(page, ATTACKER), /retrying \(attempt/);
});
