// The night replayed, distributed: 2,000 bot addresses try 3 wrong passwords each on the real
// WordPress through the edge. No per-IP jail fires (3 tries each), but the site as a whole is
// under attack: the login shield goes up, its rule reaches the (fake) Cloudflare, the edge
// challenges every bot from then on so PHP stops seeing them, the human with a solved
// challenge (clearance cookie) still logs in, and the shield comes down once the attack ends.
//
// Everything is real except Cloudflare (the fake API, and the edge proxy evaluating the
// shield's rule over its state). Waits poll; nothing asserts how long anything took.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, startStory, type Origin, type Story } from './support/stack.ts';
import { readAccessLog } from './support/origin.ts';
import { postLogin } from './support/wordpress-client.ts';
import { runLoginAttack, watchFirst, type AttackAttempt } from './support/login-attack.ts';
import { waitFor } from './support/poll.ts';
import { ADMIN_TOKEN } from './support/edgejail-service.ts';
import { CLEARANCE_COOKIE } from './edge-proxy.ts';
import { parseShieldTag } from '../../server/cloudflare/shield-rules.ts';

const BOTS = 2_000;
const TRIES = 3;
const CONCURRENCY = 24;
const SITE_HOST = 'shop.e2e.test';
const HUMAN_IP = '203.0.113.200';
const HUMAN_CLEARANCE = 'solved-by-the-human-0123456789';
// Short windows so the test sees the shield come down: findtime and bantime at their minimums.
const SHIELD = { findtime: '10s', bantime: '60s', maxretry: 100, min_ips: 20, username_min_ips: 10 };
// Per-IP jails as shipped: 3 tries per address never reach their maxretry.
const JAILS = { wordpress: { bantime_increment: { enabled: false } } };
const CLOUDFLARE = { retry: { base_ms: 100, max_ms: 2_000 } };
const USERS = ['admin', 'administrator', 'shop', 'test'];

/** 198.18.0.0/15 is set aside for benchmarks (RFC 2544): no never-ban range, never a real client. */
const botIp = (i: number) => `198.18.${(i >> 8) & 255}.${i & 255}`;

let origin: Origin;
before(async () => {
  origin = await startOrigin();
}, { timeout: 15 * 60_000 });
after(async () => {
  await origin?.stop();
});

describe('the distributed night: the login shield', { timeout: 15 * 60_000 }, () => {
  let story: Story;
  // When the edge let each request through, by the CF-Ray id nginx logs.
  const admittedAt = new Map<string, number>();
  const bots = new Set(Array.from({ length: BOTS }, (_, i) => botIp(i + 1)));

  before(async () => {
    story = await startStory(origin, {
      backend: 'access_rules', jails: JAILS, cloudflare: CLOUDFLARE,
      shield: { config: SHIELD, siteHost: SITE_HOST, clearances: new Set([HUMAN_CLEARANCE]) },
      onForward: (_ip, ray) => admittedAt.set(ray, Date.now()),
    });
  });
  after(async () => {
    await story?.close();
  });

  const ourRules = () => story.fake.customRules('zone').filter((r) => parseShieldTag(r.description)?.siteId === story.service.site.id);
  const shieldStatus = async () => {
    const res = await fetch(`${story.service.url}/v1/shields`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await res.json()) as { shields: Array<{ site_id: string; up: boolean; reason: string | null }> };
    return body.shields.find((s) => s.site_id === story.service.site.id);
  };
  const human = () => ({ name: origin.paths.WP_ENV_USER, password: origin.paths.WP_ENV_PASSWORD });

  it('raises the shield, stops the bots at the edge, lets the human in, and lowers it after the attack', async () => {
    // nginx's log outlives one run: only what arrived from now on is this run's.
    const startedAt = Date.now() / 1000;
    const log = () => readAccessLog(origin.paths).filter((l) => l.t - l.rt >= startedAt - 0.5 && admittedAt.has(l.ray));
    const shieldSeen = watchFirst(() => ourRules().some((r) => r.action === 'managed_challenge'));
    let sent: AttackAttempt[];
    try {
      sent = await runLoginAttack({ edgeUrl: story.edge.url, bots: [...bots], triesPerBot: TRIES, concurrency: CONCURRENCY, usernames: USERS });
      await waitFor('the login shield rule at the fake Cloudflare', () => shieldSeen.at() !== null, { timeoutMs: 60_000 });
    } finally {
      shieldSeen.stop();
    }

    // The shield went up for a reason in figures, with the rules the site owner expects.
    const status = await shieldStatus();
    assert.equal(status?.up, true);
    assert.match(status!.reason ?? '', /failures from \d+ IPs/);
    const rules = ourRules();
    assert.deepEqual(rules.map((r) => r.action).sort(), ['block', 'managed_challenge']);
    assert.ok(rules.every((r) => r.expression.includes(`http.host eq "${SITE_HOST}"`)));

    // Every bot request sent after the rule was seen was challenged at the edge...
    const seen = shieldSeen.at()!;
    const late = sent.filter((s) => s.startedAt > seen);
    assert.ok(late.length > 0, 'the attack outlasted the shield going up');
    assert.deepEqual([...new Set(late.map((s) => s.answer.outcome))], ['edge_challenged']);
    assert.ok(sent.every((s) => s.answer.outcome === 'login_failed' || s.answer.outcome === 'edge_challenged'), 'bots only ever failed or were challenged');
    // ...and none reached PHP: nginx logged no bot request the edge let through after that.
    await waitFor('nginx to log every forwarded request', () => log().length >= admittedAt.size, { timeoutMs: 30_000 });
    const botPhp = log().filter((l) => bots.has(l.cf) && l.php);
    assert.equal(botPhp.filter((l) => (admittedAt.get(l.ray) ?? 0) > seen).length, 0);
    assert.equal(botPhp.length, sent.filter((s) => s.answer.outcome === 'login_failed').length, 'every bot request PHP ran is one that WordPress answered before the shield');

    // The human: challenged without a clearance, logged in with the right password once solved.
    assert.equal((await postLogin(story.edge.url, HUMAN_IP, human().name, human().password)).outcome, 'edge_challenged');
    const login = await postLogin(story.edge.url, HUMAN_IP, human().name, human().password, `${CLEARANCE_COOKIE}=${HUMAN_CLEARANCE}`);
    assert.equal(login.outcome, 'logged_in');
    assert.equal((await shieldStatus())?.up, true, 'the shield was up while the human logged in');

    // The attack is over: once findtime has emptied and bantime has passed, the rules go.
    await waitFor('the login shield to come down at the fake Cloudflare', async () => ourRules().length === 0 && (await shieldStatus())?.up === false, { timeoutMs: 5 * 60_000, intervalMs: 500 });
    assert.equal((await postLogin(story.edge.url, HUMAN_IP, human().name, human().password)).outcome, 'logged_in', 'no challenge once the shield is down');
  });
});
