// Issue 11's rows: a distributed password-guessing attack (5,000 addresses × 2 wrong
// passwords) through the edge at the real WordPress, once with the login shield off and once
// on. Measures the time from the first attempt to the shield's rule at the fake Cloudflare,
// the bot requests PHP ran in each mode (nginx's access log), the human's logins (with a
// solved challenge) while the shield is up, and how long after the attack ended for the site
// (its last failure PHP answered) the rule goes,
// minus bantime.
import { join } from 'node:path';
import { ROOT } from '../../test/support/process.ts';
import { startOrigin, startStory, type Origin } from '../../test/e2e/support/stack.ts';
import { readAccessLog } from '../../test/e2e/support/origin.ts';
import { postLogin } from '../../test/e2e/support/wordpress-client.ts';
import { runLoginAttack, watchFirst } from '../../test/e2e/support/login-attack.ts';
import { waitFor } from '../../test/e2e/support/poll.ts';
import { CLEARANCE_COOKIE } from '../../test/e2e/edge-proxy.ts';
import { parseShieldTag } from '../../server/cloudflare/shield-rules.ts';
import { benchIp } from '../lib/events.ts';
import { median, round } from '../lib/stats.ts';

const BOTS = 5_000;
const TRIES = 2;
const CONCURRENCY = 32;
const HUMAN_LOGINS = 10;
const SITE_HOST = 'shop.bench.test';
const HUMAN_IP = '203.0.113.201';
const CLEARANCE = 'bench-human-clearance-0123456789';
// The shortest windows the config takes, so a run sees the shield come down.
const BANTIME_SECONDS = 60;
const SHIELD = { findtime: '10s', bantime: `${BANTIME_SECONDS}s` };
const JAILS = { wordpress: { bantime_increment: { enabled: false } } };
const CLOUDFLARE = { retry: { base_ms: 100, max_ms: 2_000 } };
const USERS = ['admin', 'administrator', 'shop', 'test'];

interface ShieldRun {
  php: number;
  upSeconds: number | null;
  humanOkPct: number | null;
  downAfterCalmSeconds: number | null;
  downAfterSendingSeconds: number | null;
}

async function runOnce(origin: Origin, shieldOn: boolean, firstIp: number): Promise<ShieldRun> {
  const story = await startStory(origin, {
    backend: 'list', jails: JAILS, cloudflare: CLOUDFLARE,
    shield: { config: { ...SHIELD, enabled: shieldOn }, siteHost: SITE_HOST, clearances: new Set([CLEARANCE]) },
  });
  try {
    const ours = () => story.fake.customRules('zone').filter((r) => parseShieldTag(r.description)?.siteId === story.service.site.id);
    const bots = Array.from({ length: BOTS }, (_, i) => benchIp(firstIp + i));
    const botSet = new Set(bots);
    const startedAt = Date.now();
    const shieldUp = watchFirst(() => ours().length > 0);
    try {
      await runLoginAttack({ edgeUrl: story.edge.url, bots, triesPerBot: TRIES, concurrency: CONCURRENCY, usernames: USERS });
      if (shieldOn) await waitFor('the shield rule', () => shieldUp.at() !== null, { timeoutMs: 60_000 });
    } finally {
      shieldUp.stop();
    }
    const upAt = shieldUp.at();
    const calmAt = Date.now();

    let humanOkPct: number | null = null;
    if (shieldOn) {
      let ok = 0;
      for (let i = 0; i < HUMAN_LOGINS; i++) {
        const answer = await postLogin(story.edge.url, HUMAN_IP, origin.paths.WP_ENV_USER, origin.paths.WP_ENV_PASSWORD, `${CLEARANCE_COOKIE}=${CLEARANCE}`);
        if (answer.outcome === 'logged_in') ok++;
      }
      humanOkPct = round((100 * ok) / HUMAN_LOGINS);
    }
    await new Promise((r) => setTimeout(r, 500)); // nginx writes a line once the answer is done
    const botPhp = readAccessLog(origin.paths).filter((l) => l.t - l.rt >= startedAt / 1000 - 0.5 && botSet.has(l.cf) && l.php);

    let downAfterCalmSeconds: number | null = null;
    let downAfterSendingSeconds: number | null = null;
    if (shieldOn) {
      await waitFor('the shield rule to go', () => ours().length === 0, { timeoutMs: (BANTIME_SECONDS + 240) * 1000, intervalMs: 100 });
      // Once the rule is up the edge stops the bots, so the site sees the attack end then, not
      // when the bots stop sending: calm is the last bot request PHP answered (the last failure
      // the service was told of). bantime runs from the last time the condition held, which is
      // at most findtime after that.
      const lastFailureAt = botPhp.length ? Math.max(...botPhp.map((l) => l.t)) * 1000 : calmAt;
      downAfterCalmSeconds = round((Date.now() - lastFailureAt) / 1000 - BANTIME_SECONDS);
      downAfterSendingSeconds = round((Date.now() - calmAt) / 1000 - BANTIME_SECONDS);
    }
    return { php: botPhp.length, upSeconds: upAt === null ? null : round((upAt - startedAt) / 1000), humanOkPct, downAfterCalmSeconds, downAfterSendingSeconds };
  } finally {
    await story.close();
  }
}

const medianOf = (values: Array<number | null>) => {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? median(known) : null;
};

export async function shieldSection(runs: number) {
  const origin = await startOrigin({ E2E_DIR: join(ROOT, '.tmp/bench-origin') });
  try {
    const without: ShieldRun[] = [];
    const withShield: ShieldRun[] = [];
    for (let r = 0; r < runs; r++) {
      // Fresh addresses each run, away from the other sections' bench addresses.
      without.push(await runOnce(origin, false, 60_000 + r * 2 * BOTS));
      withShield.push(await runOnce(origin, true, 60_000 + (r * 2 + 1) * BOTS));
      console.error(`[bench] shield run ${r + 1}: without ${JSON.stringify(without.at(-1))}, with ${JSON.stringify(withShield.at(-1))}`);
    }
    return {
      shield_up_seconds: medianOf(withShield.map((x) => x.upSeconds)),
      shield_origin_php_requests: { without: median(without.map((x) => x.php)), with: median(withShield.map((x) => x.php)) },
      shield_human_login_ok_pct: medianOf(withShield.map((x) => x.humanOkPct)),
      shield_down_seconds_after_calm: medianOf(withShield.map((x) => x.downAfterCalmSeconds)),
      // The same, counted from when the bots stopped sending (negative: the edge had ended the attack for the site long before).
      shield_down_seconds_after_sending_stopped: medianOf(withShield.map((x) => x.downAfterSendingSeconds)),
      shield_attack: { ips: BOTS, attempts_per_ip: TRIES, bantime_seconds: BANTIME_SECONDS, findtime_seconds: 10, runs },
    };
  } finally {
    await origin.stop();
  }
}
