// The night from the original story, replayed on loopback and survived: a bot guesses
// passwords on wp-login.php through "Cloudflare" (the edge proxy), the plugin reports each
// failure, the service bans the bot at the (fake) Cloudflare API, the edge refuses it, the
// origin stops seeing it, and the ban is lifted on time. Once per Cloudflare backend.
//
// Everything here is real except Cloudflare: MariaDB, Debian's WordPress on php-fpm behind
// nginx, the plugin configured by wp-config.php constants, the service as its own process.
// Waits poll with generous deadlines; nothing asserts how long anything took.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, startStory, type Origin, type Story } from './support/stack.ts';
import { originRequestsFrom } from './support/origin.ts';
import { getLoginPage, postLogin, postMulticall, type Answer } from './support/wordpress-client.ts';
import { sleep, waitFor } from './support/poll.ts';
import type { Backend } from './support/edgejail-service.ts';

const MAXRETRY = 5;
const BANTIME_SECONDS = 15;
const JAILS = {
  wordpress: { maxretry: MAXRETRY, findtime: '10m', bantime: BANTIME_SECONDS, bantime_increment: { enabled: false } },
};
// Retry Cloudflare quickly: the test should not wait out production backoffs.
const CLOUDFLARE = { retry: { base_ms: 100, max_ms: 2_000 }, bulk_poll: { initial_ms: 20, max_ms: 200 } };
// Long enough for a slow CI machine, short enough to fail before the suite's own limits.
const BAN_WAIT = { timeoutMs: 30_000 };
const UNBAN_WAIT = { timeoutMs: (BANTIME_SECONDS + 60) * 1000, intervalMs: 250 };

// Each backend's attackers come from their own documentation range (RFC 5737), so no state
// of one story can leak into the other.
const BACKENDS: Array<{ backend: Backend; net: string }> = [
  { backend: 'access_rules', net: '198.51.100' },
  { backend: 'list', net: '203.0.113' },
];

let origin: Origin;

before(async () => {
  origin = await startOrigin();
}, { timeout: 15 * 60_000 }); // a fresh machine apt-installs WordPress, PHP, MariaDB and nginx first

after(async () => {
  await origin?.stop();
});

for (const { backend, net } of BACKENDS) {
  describe(`the brute-force night, ${backend} backend`, { timeout: 5 * 60_000 }, () => {
    let story: Story;
    let edge: string;
    const user = () => ({ name: origin.paths.WP_ENV_USER, password: origin.paths.WP_ENV_PASSWORD });
    const bruteForcer = `${net}.11`;

    before(async () => {
      story = await startStory(origin, { backend, jails: JAILS, cloudflare: CLOUDFLARE, fake: {} });
      edge = story.edge.url;
    });
    after(async () => {
      await story?.close();
    });

    /** One wrong password, and the wait until the service has stored it (so the count is exact). */
    async function failOnce(base: string, ip: string, attempt: number): Promise<void> {
      const answer = await postLogin(base, ip, user().name, `wrong-password-${attempt}`);
      assert.equal(answer.outcome, 'login_failed', `attempt ${attempt} from ${ip} should reach WordPress and fail`);
      await waitFor(`event ${attempt} from ${ip} stored`, () => story.service.eventsFrom(ip).events >= attempt, BAN_WAIT);
    }

    it('bans a wp-login.php brute force at the edge after maxretry; the origin sees nothing more from it', async () => {
      for (let attempt = 1; attempt <= MAXRETRY; attempt++) {
        if (attempt < MAXRETRY) assert.equal(story.fake.isBlocked(bruteForcer), false, `not blocked before attempt ${attempt}`);
        await failOnce(edge, bruteForcer, attempt);
      }
      await waitFor('the fake Cloudflare to block the brute forcer', () => story.fake.isBlocked(bruteForcer), BAN_WAIT);
      const bans = story.service.bansOf(bruteForcer);
      assert.equal(bans.length, 1);
      assert.equal(bans[0]!.jail, 'wordpress');
      assert.equal(bans[0]!.state, 'active');

      await waitFor('nginx to log the attempts', () => originRequestsFrom(origin.paths, bruteForcer).length === MAXRETRY, BAN_WAIT);
      for (let attempt = MAXRETRY + 1; attempt <= MAXRETRY + 10; attempt++) {
        const answer = await postLogin(edge, bruteForcer, user().name, `wrong-password-${attempt}`);
        assert.equal(answer.outcome, 'edge_blocked', `attempt ${attempt} must be refused at the edge`);
      }
      assert.equal((await getLoginPage(edge, bruteForcer)).outcome, 'edge_blocked');
      // Give nginx every chance to show a request that slipped through, then look.
      await sleep(200);
      assert.equal(originRequestsFrom(origin.paths, bruteForcer).length, MAXRETRY, 'no request from a banned IP reaches the origin');
      assert.equal(story.service.eventsFrom(bruteForcer).events, MAXRETRY);
    });

    it('lets a different IP log in while the brute forcer is banned', async () => {
      const answer = await postLogin(edge, `${net}.12`, user().name, user().password);
      assert.equal(answer.outcome, 'logged_in');
      assert.equal(story.fake.isBlocked(`${net}.12`), false);
    });

    it('bans an XML-RPC system.multicall carrying 100 passwords from its first request', async () => {
      const ip = `${net}.21`;
      const passwords = Array.from({ length: 100 }, (_, i) => `guess-${i}`);
      const answer = await postMulticall(edge, ip, user().name, passwords);
      assert.equal(answer.outcome, 'xmlrpc');
      assert.equal((answer.body.match(/<name>faultCode<\/name>/g) ?? []).length, 100, 'every call in the bundle failed');
      await waitFor('the fake Cloudflare to block the multicall sender', () => story.fake.isBlocked(ip), BAN_WAIT);
      assert.deepEqual(story.service.eventsFrom(ip), { events: 1, weight: 100 }, 'one event carrying the weight of 100 guesses');
      assert.equal((await postMulticall(edge, ip, user().name, passwords)).outcome, 'edge_blocked');
      assert.equal(originRequestsFrom(origin.paths, ip).length, 1, 'only the first request reached the origin');
    });

    it("answers 403 at the origin to a banned IP that bypasses the edge (the plugin's origin fallback)", async () => {
      const attacker = `${net}.31`;
      for (let attempt = 1; attempt <= MAXRETRY; attempt++) await failOnce(origin.url, attacker, attempt);
      await waitFor('the ban at the service', () => story.service.bansOf(attacker).some((b) => b.state === 'active'), BAN_WAIT);
      // The plugin learns the ban from the service's answer to the batch it just sent.
      await waitFor('the origin to refuse the banned IP', async () => (await getLoginPage(origin.url, attacker)).outcome === 'origin_blocked', BAN_WAIT);
      const answer = await postLogin(origin.url, attacker, user().name, 'wrong-password-again');
      assert.equal(answer.outcome, 'origin_blocked');
      // The refusal is about this IP, not the site: a bystander straight at the origin is served.
      assert.equal((await getLoginPage(origin.url, `${net}.32`)).outcome, 'page');
      assert.equal((await postLogin(origin.url, `${net}.32`, user().name, user().password)).outcome, 'logged_in');
      // And the edge has it too.
      await waitFor('the fake Cloudflare to block the direct attacker', () => story.fake.isBlocked(attacker), BAN_WAIT);
    });

    it('lifts the brute forcer\'s ban after bantime: the login page is reachable again', async () => {
      await waitFor('the edge to let the brute forcer through again', () => !story.fake.isBlocked(bruteForcer), UNBAN_WAIT);
      await waitFor('the login page to load for the brute forcer', async () => (await getLoginPage(edge, bruteForcer)).outcome === 'page', BAN_WAIT);
      const [ban] = story.service.bansOf(bruteForcer);
      assert.equal(ban!.state, 'lifted');
      assert.equal(ban!.lifted_by, 'expiry');
    });

    it('loses no event when the service restarts mid-attack, and still bans and unbans', async () => {
      const attacker = `${net}.41`;
      let reachedWordPress = 0;
      const attack = async (): Promise<Answer> => {
        const answer = await postLogin(edge, attacker, user().name, `restart-guess-${reachedWordPress}`);
        if (answer.outcome === 'login_failed') reachedWordPress++;
        return answer;
      };

      for (let i = 1; i <= 2; i++) {
        assert.equal((await attack()).outcome, 'login_failed');
        await waitFor(`event ${i} stored`, () => story.service.eventsFrom(attacker).events >= i, BAN_WAIT);
      }
      await story.service.stop();
      // The bot does not notice: WordPress still answers, the plugin keeps the events for later.
      for (let i = 0; i < 2; i++) assert.equal((await attack()).outcome, 'login_failed');
      await story.service.start();

      // The plugin backs off after the failed delivery, then sends what it kept with the next
      // attempt; the bot keeps going until the edge stops it.
      const answer = await waitFor(
        'the edge to block the attacker after the restart',
        async () => {
          const a = await attack();
          if (a.outcome === 'edge_blocked') return a;
          await sleep(500);
          return null;
        },
        { timeoutMs: 150_000, intervalMs: 0 },
      );
      assert.equal(answer.outcome, 'edge_blocked');
      await waitFor('every attempt that reached WordPress to be stored', () => story.service.eventsFrom(attacker).events >= reachedWordPress, BAN_WAIT);
      assert.equal(story.service.eventsFrom(attacker).events, reachedWordPress, 'each attempt stored exactly once');
      assert.ok(reachedWordPress > MAXRETRY, `the attack outlasted the restart (${reachedWordPress} attempts reached WordPress)`);
      assert.equal(story.service.bansOf(attacker).filter((b) => b.state === 'active').length, 1);

      await waitFor('the ban to be lifted after the restart', () => !story.fake.isBlocked(attacker), UNBAN_WAIT);
      const bans = story.service.bansOf(attacker);
      assert.equal(bans.length, 1);
      assert.equal(bans[0]!.lifted_by, 'expiry');
    });
  });
}
