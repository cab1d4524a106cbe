// /metrics carries what a Grafana board of EdgeJail needs: bans by jail, blocks by state
// at Cloudflare, Cloudflare calls by operation and status, the enforcer's limiter and
// outbox, and how long each site has been quiet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, attempt, postEvents, startService } from '../support/service.ts';

let clock = Date.now();
let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService({}, { now: () => clock });
});
after(async () => svc.close());

const scrape = async () => (await svc.app.inject({ method: 'GET', url: '/metrics' })).body;
const sample = (body: string, series: string) => {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('bans by jail, blocks by state and Cloudflare calls by operation appear once there are some', async () => {
  const before = await scrape();
  assert.equal(sample(before, 'edgejail_bans_active_by_jail{jail="wordpress"}'), undefined);

  await postEvents(svc.app, svc.site, Array.from({ length: 5 }, () => attempt('203.0.113.80')));
  await postEvents(svc.app, svc.site, [attempt('203.0.113.81', { type: 'blocked_username' })]);
  await svc.app.enforcer.drain();

  const body = await scrape();
  assert.equal(sample(body, 'edgejail_bans_active_by_jail{jail="wordpress"}'), 1);
  assert.equal(sample(body, 'edgejail_bans_active_by_jail{jail="blocked_username"}'), 1);
  assert.equal(sample(body, 'edgejail_cloudflare_blocks{state="dry_run"}'), 2);
  const created = sample(body, 'edgejail_cloudflare_api_calls{operation="create_rule",outcome="dry_run",status="0"}');
  assert.equal(created, 2, body);

  // Totals only grow, and only new rows are added on the next scrape.
  await svc.app.inject({ method: 'DELETE', url: '/v1/bans/203.0.113.80', headers: adminHeaders });
  await svc.app.enforcer.drain();
  const later = await scrape();
  assert.equal(sample(later, 'edgejail_cloudflare_api_calls{operation="create_rule",outcome="dry_run",status="0"}'), 2);
  assert.ok((sample(later, 'edgejail_cloudflare_api_calls{operation="delete_rule",outcome="dry_run",status="0"}') ?? 0) >= 1, later);
  assert.equal(sample(later, 'edgejail_bans_active_by_jail{jail="wordpress"}'), undefined);
});

test("the enforcer's mode, outbox and limiter are gauges", async () => {
  const body = await scrape();
  assert.equal(sample(body, 'edgejail_cloudflare_enforcing'), 0, 'dry-run');
  assert.equal(sample(body, 'edgejail_cloudflare_outbox_due'), 0);
  assert.equal(sample(body, 'edgejail_cloudflare_in_flight'), 0);
  assert.equal(sample(body, 'edgejail_cloudflare_rate_limited_seconds'), 0);
  assert.equal(sample(body, 'edgejail_cloudflare_requests_sent'), 0);
  assert.match(body, /^# TYPE edgejail_cloudflare_limiter_headroom gauge$/m);
  assert.match(body, /^edgejail_cloudflare_limiter_waits 0$/m);
  assert.match(body, /^edgejail_cloudflare_limiter_wait_seconds 0$/m);
});

test('each site reports how long it has been quiet', async () => {
  clock += 90_000;
  const body = await scrape();
  const line = body.split('\n').find((l) => l.startsWith(`edgejail_site_seconds_since_last_event{site="${svc.site.id}"`));
  assert.ok(line, body);
  assert.equal(Number(line.split(' ').at(-1)), 90);
});

test("the jails' tracked keys and evictions are gauges", async () => {
  await postEvents(svc.app, svc.site, [attempt('203.0.113.90'), attempt('203.0.113.91')]);
  const body = await scrape();
  // The banned IPs' windows were closed by their bans; these two are still being counted.
  assert.ok((sample(body, 'edgejail_jail_tracked_keys{jail="wordpress"}') ?? 0) >= 2, body);
  assert.equal(sample(body, 'edgejail_jail_evictions'), 0);
});
