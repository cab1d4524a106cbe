// The alert rules as tables: pure conditions over snapshots, the evaluator's hold and
// resolve, the per-channel digest's dedup and pacing, and the redaction of hook URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectConditions, enforcementConditions, siteSilenceConditions, type ConditionSettings } from '../../server/notify/conditions.ts';
import { evaluateConditions, emptyConditionState, type ConditionChange } from '../../server/notify/evaluator.ts';
import { addBans, addChange, emptyDigest, takeDueDigest } from '../../server/notify/digest.ts';
import { redactUrl, scrub } from '../../server/notify/channels/channel.ts';
import { createShedWindow } from '../../server/notify/shed-window.ts';
import { enforcementHealth } from '../../server/notify/enforcement-health.ts';
import { notifyConfigSchema } from '../../server/config/notify.ts';
import type { CloudflareCallSnapshot, EnforcementHealth, NotifySnapshot } from '../../server/notify/snapshot.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;
const settings: ConditionSettings = { enforcementFailingAfterMs: 5 * MIN, siteSilentAfterMs: 86_400_000 };

const call = (atMs: number, httpStatus: number | null, ok = false): CloudflareCallSnapshot => ({ atMs, ok, httpStatus, operation: 'create_rule', error: ok ? null : `HTTP ${httpStatus}` });
const health = (recentCalls: CloudflareCallSnapshot[], extra: Partial<EnforcementHealth> = {}): EnforcementHealth => ({ mode: 'enforcing', recentCalls, blockRule: null, originOnly: null, ...extra });
const quiet = (enforcement: EnforcementHealth = health([])): NotifySnapshot => ({ shields: [], sites: [], enforcement, shed: { windowMs: 5 * MIN, total: 0, byReason: {} } });

/** Runs the evaluator over (time, snapshot) steps; returns every change with its time. */
function run(steps: Array<[number, NotifySnapshot]>): ConditionChange[] {
  let state = emptyConditionState();
  const all: ConditionChange[] = [];
  for (const [at, snapshot] of steps) {
    const result = evaluateConditions(state, detectConditions(snapshot, at, settings), at);
    state = result.state;
    all.push(...result.changes);
  }
  return all;
}

test('a token refused by Cloudflare (403) is worth a message only once it has failed for enforcement_failing_after, and resolves on the next good call', () => {
  const failing = (now: number) => quiet(health([call(now - 1000, 403), call(T0, 403)]));
  const changes = run([
    [T0, failing(T0)],
    [T0 + 4 * MIN, failing(T0 + 4 * MIN)],
    [T0 + 5 * MIN, failing(T0 + 5 * MIN)],
    [T0 + 6 * MIN, failing(T0 + 6 * MIN)],
    [T0 + 7 * MIN, quiet(health([call(T0 + 7 * MIN, 200, true), call(T0 + 6 * MIN, 403)]))],
  ]);
  assert.deepEqual(changes.map((c) => [c.status, c.kind, (c.atMs - T0) / MIN]), [['firing', 'enforcement_failing', 5], ['resolved', 'enforcement_failing', 7]]);
  assert.match(changes[0]!.summary, /refuses the API token \(HTTP 401\/403\)/);
  assert.equal(changes[0]!.sinceMs, T0);
});

test('5xx must repeat (3 in a row) to count; 404 lookups and a single blip do not', () => {
  const at = T0 + 10 * MIN;
  assert.deepEqual(enforcementConditions(health([call(at, 502), call(at - 1, 503)]), settings), []);
  assert.deepEqual(enforcementConditions(health([call(at, 502), call(at - 1, 404), call(at - 2, 200, true), call(at - 3, 500), call(at - 4, 500)]), settings), []);
  const [repeated] = enforcementConditions(health([call(at, 502), call(at - 1, 404), call(at - 2, 503), call(at - 3, null)]), settings);
  assert.equal(repeated!.detail.cause, 'cloudflare_errors');
  assert.equal(repeated!.sinceMs, at - 3);
  assert.equal(repeated!.holdMs, 5 * MIN);
});

test('the list\'s WAF rule missing is enforcement failing; dry-run is never failing', () => {
  const missing = { state: 'missing' as const, detail: 'no rule references $edgejail_blocked' };
  const [obs] = enforcementConditions(health([], { blockRule: missing }), settings);
  assert.equal(obs!.kind, 'enforcement_failing');
  assert.match(obs!.summary, /WAF rule .* is missing/);
  assert.deepEqual(enforcementConditions(health([call(T0, 403)], { mode: 'dry_run', blockRule: missing }), settings), []);
});

test('edge capacity: origin_only bans fire at once and resolve at zero; no alert while the enforcer does not report placements', () => {
  const changes = run([
    [T0, quiet(health([], { originOnly: null }))],
    [T0 + MIN, quiet(health([], { originOnly: 12 }))],
    [T0 + 2 * MIN, quiet(health([], { originOnly: 40 }))],
    [T0 + 3 * MIN, quiet(health([], { originOnly: 0 }))],
  ]);
  assert.deepEqual(changes.map((c) => [c.status, c.kind, (c.atMs - T0) / MIN]), [['firing', 'edge_full', 1], ['resolved', 'edge_full', 3]]);
  assert.match(changes[0]!.summary, /12 bans are held only at the origin/);
  assert.deepEqual(enforcementHealth({ mode: 'enforcing', lastReconcile: null }, []).originOnly, null);
  assert.equal(enforcementHealth({ mode: 'enforcing', lastReconcile: null, placements: { list: 3, origin_only: 7 } }, []).originOnly, 7);
});

test('a site silent for a day fires (also one never heard from since it was added); a new event resolves it', () => {
  const sites = (lastEventAtMs: number | null) => [{ id: 's1', name: 'blog', createdAtMs: T0 - 30 * 3600_000, lastEventAtMs }];
  assert.deepEqual(siteSilenceConditions(sites(T0 - 23 * 3600_000), T0, settings), []);
  const [silent] = siteSilenceConditions(sites(T0 - 25 * 3600_000), T0, settings);
  assert.match(silent!.summary, /^blog has sent nothing for 25 h/);
  const [never] = siteSilenceConditions(sites(null), T0, settings);
  assert.match(never!.summary, /since it was added 30 h ago/);
  const snap = (last: number | null): NotifySnapshot => ({ ...quiet(), sites: sites(last) });
  const changes = run([[T0, snap(T0 - 25 * 3600_000)], [T0 + MIN, snap(T0 + MIN)]]);
  assert.deepEqual(changes.map((c) => `${c.status}:${c.kind}:${c.siteId}`), ['firing:site_silent:s1', 'resolved:site_silent:s1']);
});

test('shedding: requests shed in the last 5 minutes are a condition; it resolves once the window is quiet', () => {
  const shed = createShedWindow(5 * MIN);
  shed.record('queue_delay', T0);
  shed.record('queue_delay', T0 + 1000);
  shed.record('inflight', T0 + 2000);
  assert.deepEqual(shed.snapshot(T0 + 3000), { windowMs: 5 * MIN, total: 3, byReason: { queue_delay: 2, inflight: 1 } });
  const changes = run([
    [T0 + 3000, { ...quiet(), shed: shed.snapshot(T0 + 3000) }],
    [T0 + 6 * MIN, { ...quiet(), shed: shed.snapshot(T0 + 6 * MIN) }],
  ]);
  assert.deepEqual(changes.map((c) => `${c.status}:${c.kind}`), ['firing:shedding', 'resolved:shedding']);
  assert.match(changes[0]!.summary, /3 requests refused .* \(queue_delay 2, inflight 1\)/);
});

test('a condition that clears before its hold time is never told, so it is never "resolved" either', () => {
  const changes = run([
    [T0, quiet(health([call(T0, 403)]))],
    [T0 + MIN, quiet(health([call(T0 + MIN, 200, true)]))],
  ]);
  assert.deepEqual(changes, []);
});

test('digest: one line per kind and site, bans summed, a flap shown as one resolved line, at most one digest per min_interval', () => {
  const digest = emptyDigest();
  const change = (status: 'firing' | 'resolved', siteId: string, atMs: number): ConditionChange => ({ status, kind: 'shield_up', siteId, siteName: siteId, summary: `shield ${status} ${siteId}`, detail: {}, atMs, sinceMs: T0 });
  for (let i = 0; i < 500; i++) addBans(digest, { total: 1, byJail: { wordpress: 1 }, sample: [`192.0.2.${i % 250}`] }, T0 + i);
  addChange(digest, change('firing', 'a', T0));
  addChange(digest, change('firing', 'b', T0));
  addChange(digest, change('resolved', 'b', T0 + 10));
  const first = takeDueDigest(digest, T0 + 1000, 15 * MIN)!;
  assert.deepEqual(first.map((i) => `${i.kind}:${i.siteId}:${i.status}:${i.count}`), ['shield_up:a:firing:1', 'shield_up:b:resolved:2', 'bans:null:info:500']);
  assert.match(first[1]!.summary, /^shield resolved b \(it began at .*: shield firing b\)$/);
  assert.equal((first[2]!.detail.sample as string[]).length, 10);

  addBans(digest, { total: 3, byJail: { recidive: 3 }, sample: ['198.51.100.1'] }, T0 + 2000);
  assert.equal(takeDueDigest(digest, T0 + 14 * MIN, 15 * MIN), null, 'too soon after the last');
  assert.equal(takeDueDigest(digest, T0 + 1000 + 15 * MIN, 15 * MIN), null, 'bans alone are gathered for a whole interval');
  const second = takeDueDigest(digest, T0 + 2000 + 15 * MIN, 15 * MIN)!;
  assert.deepEqual(second.map((i) => i.count), [3]);
  assert.equal(takeDueDigest(digest, T0 + 60 * MIN, 15 * MIN), null, 'nothing pending, nothing sent');

  const fresh = emptyDigest();
  addBans(fresh, { total: 2, byJail: { wordpress: 2 }, sample: ['192.0.2.1', '192.0.2.2'] }, T0);
  assert.equal(takeDueDigest(fresh, T0 + MIN, 15 * MIN), null);
  addChange(fresh, change('firing', 'a', T0 + MIN));
  assert.deepEqual(takeDueDigest(fresh, T0 + MIN, 15 * MIN)!.map((i) => i.kind), ['shield_up', 'bans'], 'an alert goes at once and takes the bans gathered so far with it');
});

test('hook URLs are shown by host only, and secrets are scrubbed from error texts', () => {
  assert.equal(redactUrl('https://hooks.slack.com/services/T0/B0/XYZ'), 'https://hooks.slack.com/…');
  assert.equal(redactUrl('https://hooks.example/?token=abc'), 'https://hooks.example/…');
  assert.equal(redactUrl('https://user:pw@hooks.example/'), 'https://hooks.example/…');
  assert.equal(redactUrl('https://hooks.example/'), 'https://hooks.example/');
  assert.equal(scrub('failed for /services/T0/B0/XYZ with pass s3cret!', ['/services/T0/B0/XYZ', 's3cret!']), 'failed for … with pass …');
});

test('the notify config: defaults, names as documented, and clear refusals', () => {
  const defaults = notifyConfigSchema.parse(undefined);
  assert.deepEqual(defaults, { min_interval: 900, enforcement_failing_after: 300, webhooks: [] });
  const full = notifyConfigSchema.parse({
    min_interval: '15m',
    enforcement_failing_after: '5m',
    webhooks: [{ url: 'https://hooks.example/edgejail', secret_file: '/etc/edgejail/hook-secret', format: 'json' }, { url: 'https://hooks.slack.com/services/x', format: 'slack' }],
    smtp: { host: 'smtp.example', port: 587, starttls: true, user: 'edgejail', password_file: '/etc/edgejail/smtp-pass', from: 'edgejail@example', to: ['admin@example'] },
  });
  assert.equal(full.smtp!.to[0], 'admin@example');
  const issues = (input: unknown) => notifyConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  assert.deepEqual(issues({ webhooks: [{ url: 'https://hooks.example/x', format: 'json' }] }), ["webhooks.0.secret_file: a json webhook needs secret_file (its messages are signed like the plugin's)"]);
  assert.deepEqual(issues({ webhooks: [{ url: 'ftp://x/y', secret_file: '/s' }] }), ['webhooks.0.url: must be an http:// or https:// URL']);
  assert.deepEqual(issues({ smtp: { host: 'h', from: 'a@b', to: [], user: 'u' } }), ['smtp.to: must name at least one recipient', 'smtp.password_file: user and password_file go together (both for an authenticating relay, neither for an open one)']);
  assert.deepEqual(issues({ min_interval: 'soon' }), ['min_interval: "soon" is not a duration (use seconds or 90s, 10m, 1h, 7d)']);
});
