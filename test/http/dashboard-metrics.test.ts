// /metrics carries what a Grafana board of EdgeJail needs: bans by jail, blocks by state
// at Cloudflare, Cloudflare calls by operation and status, the enforcer's limiter and
// outbox, and how long each site has been quiet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, attempt, postEvents, startService } from '../support/service.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TABLE_STATS_MAX_AGE_MS, createTableStats } from '../../server/metrics/table-stats.ts';
import { listen } from '../../server/http/listeners.ts';

let clock = Date.now();
let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService({}, { now: () => clock });
});
after(async () => svc.close());

// The table figures are a snapshot at most 10 s old: step past it so each scrape reads anew.
const scrape = async () => {
  clock += TABLE_STATS_MAX_AGE_MS + 1;
  const res = await svc.app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders });
  assert.equal(res.statusCode, 200, res.body);
  return res.body;
};
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
  await postEvents(svc.app, svc.site, [attempt('203.0.113.85', { type: 'user_enumeration' })]);
  const sentAt = clock;
  clock += 90_000;
  const body = await scrape();
  const line = body.split('\n').find((l) => l.startsWith(`edgejail_site_seconds_since_last_event{site="${svc.site.id}"`));
  assert.ok(line, body);
  assert.equal(Number(line.split(' ').at(-1)), Math.round((clock - sentAt) / 1000), line);
});

test("the process's own figures are there: resident memory, heap, event-loop lag and GC pauses", async () => {
  const body = await scrape();
  assert.ok((sample(body, 'edgejail_process_resident_memory_bytes') ?? 0) > 0, body);
  assert.ok((sample(body, 'edgejail_nodejs_heap_size_used_bytes') ?? 0) > 0, body);
  assert.ok(Number.isFinite(sample(body, 'edgejail_nodejs_eventloop_lag_p99_seconds')), body);
  assert.match(body, /^# TYPE edgejail_nodejs_gc_duration_seconds histogram$/m);
});

test('a figure nobody knows yet has no sample, never a made-up 0', async () => {
  // The WAF rule of the list backend: not this (dry-run, access rules) service's.
  const body = await scrape();
  assert.match(body, /^# TYPE edgejail_cloudflare_block_rule_present gauge$/m);
  assert.equal(sample(body, 'edgejail_cloudflare_block_rule_present'), undefined);
});

test("the jails' tracked keys and evictions are gauges", async () => {
  await postEvents(svc.app, svc.site, [attempt('203.0.113.90'), attempt('203.0.113.91')]);
  const body = await scrape();
  // The banned IPs' windows were closed by their bans; these two are still being counted.
  assert.ok((sample(body, 'edgejail_jail_tracked_keys{jail="wordpress"}') ?? 0) >= 2, body);
  assert.equal(sample(body, 'edgejail_jail_evictions'), 0);
});

test('/metrics needs a token beside ingest: the admin token or the metrics.token_file one', async () => {
  assert.equal((await svc.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  const wrong = await svc.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer not-the-token-000000000000000' } });
  assert.equal(wrong.statusCode, 401);
  assert.doesNotMatch(wrong.body, /edgejail_/);

  const tokenFile = join(svc.dir, 'metrics-token');
  writeFileSync(tokenFile, 'prometheus-scrape-token-0123456789\n', { mode: 0o600 });
  const other = await startService({ metrics: { token_file: tokenFile } });
  try {
    const res = await other.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer prometheus-scrape-token-0123456789' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /^# TYPE edgejail_bans_active gauge$/m);
    assert.equal((await other.app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders })).statusCode, 200);
  } finally {
    await other.close();
  }
});

test('with metrics.listen, /metrics is served open on its own listener and not beside ingest', async () => {
  const other = await startService({ metrics: { listen: '127.0.0.1:0' } });
  try {
    const addresses = await listen(other.app, other.app.listenerPlan, other.config);
    const metricsUrl = addresses.find((a) => a.endsWith('(metrics)'))!.split(' ')[0]!;
    const open = await fetch(`${metricsUrl}/metrics`);
    assert.equal(open.status, 200);
    assert.match(await open.text(), /^# TYPE edgejail_bans_active gauge$/m);
    // Not beside ingest, token or not; and the metrics listener serves nothing else.
    const beside = await fetch(`${addresses[0]}/metrics`, { headers: adminHeaders });
    assert.equal(beside.status, 404);
    assert.equal((await fetch(`${metricsUrl}/v1/bans`, { headers: adminHeaders })).status, 404);
    assert.equal((await fetch(`${metricsUrl}/healthz`)).status, 200);
  } finally {
    await other.close();
  }
});

test('eight scrapers at once cost one read of the tables, not eight', async () => {
  let reads = 0;
  const counting = new Proxy(svc.app.aggregates, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (name !== 'bansByState' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        reads++;
        return value.apply(target, args);
      };
    },
  });
  const stats = createTableStats(counting, () => clock);
  await Promise.all(Array.from({ length: 8 }, () => stats.refresh()));
  assert.equal(reads, 1);
  clock += TABLE_STATS_MAX_AGE_MS - 1;
  await stats.refresh();
  assert.equal(reads, 1, 'a snapshot younger than the bound is served as it is');
  clock += 2;
  await stats.refresh();
  assert.equal(reads, 2);
});
