// A site without the plugin, defended from its web server's log: the e2e's nginx writes the
// access-log format the README gives for `edgejail tail` (combined + CF-Connecting-IP), a
// separate `edgejail tail` process follows it during the brute-force replay with the plugin
// deactivated, and the bot ends up blocked at the (fake) Cloudflare edge. The tail process
// writes the ban; the running service follows it and sends it to Cloudflare.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startOrigin, startStory, type Origin, type Story } from './support/stack.ts';
import { runOriginScript } from './support/origin.ts';
import { postLogin } from './support/wordpress-client.ts';
import { waitFor } from './support/poll.ts';
import { ADMIN_TOKEN } from './support/edgejail-service.ts';
import { DEFAULT_EDGE_SOURCE } from './edge-proxy.ts';
import { ROOT } from '../support/process.ts';

const MAXRETRY = 5;
const JAILS = { wordpress: { maxretry: MAXRETRY, findtime: '10m', bantime: 60, bantime_increment: { enabled: false } } };
const CLOUDFLARE = { retry: { base_ms: 100, max_ms: 2_000 } };
const WAIT = { timeoutMs: 30_000 };
const bot = '198.51.100.77';

let origin: Origin;
let story: Story;
let tail: ChildProcess | null = null;
let tailOutput = '';

before(async () => {
  origin = await startOrigin();
  story = await startStory(origin, { backend: 'access_rules', jails: JAILS, cloudflare: CLOUDFLARE });
  // The plugin off: WordPress answers logins, nobody reports them but the log.
  await runOriginScript(['plugin', 'deactivate'], origin.env);
  const env = { ...process.env, EDGEJAIL_DATA_DIR: story.service.dataDir, EDGEJAIL_CONFIG: join(story.service.dataDir, 'edgejail.json'), EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN };
  // The edge proxy stands in for Cloudflare from loopback, as cloudflared would.
  tail = spawn(process.execPath, ['server/bin/edgejail.js', 'tail', '--site', story.service.site.id, '--format', 'nginx', '--trusted-peers', `${DEFAULT_EDGE_SOURCE}/32`, origin.paths.EDGEJAIL_ACCESS_LOG], { cwd: ROOT, env });
  tail.stdout!.on('data', (d) => (tailOutput += d));
  tail.stderr!.on('data', (d) => (tailOutput += d));
  await waitFor('edgejail tail to start', () => tailOutput.includes('following 1 file'), WAIT);
}, { timeout: 15 * 60_000 });

after(async () => {
  if (tail && tail.exitCode === null) {
    const exited = new Promise((resolve) => tail!.once('exit', resolve));
    tail.kill('SIGTERM');
    await exited;
  }
  await runOriginScript(['plugin', 'activate'], origin?.env ?? {}).catch(() => undefined);
  await story?.close();
  await origin?.stop();
});

it('bans a wp-login.php brute force at the edge from nginx\'s access log alone, with the plugin deactivated', { timeout: 5 * 60_000 }, async () => {
  const user = origin.paths.WP_ENV_USER;
  for (let attempt = 1; attempt <= MAXRETRY; attempt++) {
    const answer = await postLogin(story.edge.url, bot, user, `wrong-password-${attempt}`);
    assert.equal(answer.outcome, 'login_failed', `attempt ${attempt} reaches WordPress and fails`);
  }
  await waitFor('the fake Cloudflare to block the bot', () => story.fake.isBlocked(bot), WAIT);
  const db = new Database(join(story.service.dataDir, 'edgejail.db'), { readonly: true });
  try {
    const bans = db.prepare('SELECT jail, state FROM bans WHERE ip_key = ?').all(bot);
    assert.deepEqual(bans, [{ jail: 'wordpress', state: 'active' }]);
    const events = db.prepare('SELECT id, type, path FROM events WHERE ip = ?').all(bot) as Array<{ id: string; type: string; path: string }>;
    assert.equal(events.length, MAXRETRY);
    for (const e of events) {
      assert.equal(e.type, 'login_failed');
      assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-8/, 'a log line\'s id (version 8), not a plugin event\'s');
    }
  } finally {
    db.close();
  }
  assert.equal((await postLogin(story.edge.url, bot, user, 'wrong-password-6')).outcome, 'edge_blocked');
});
