// A person's path through the dashboard in a real headless Chromium (Debian's package,
// driven by playwright-core) against the real service process: sign in, see the ban a
// signed event caused, lift it from the page. Screenshots go to test/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, startServiceProcess, type RunningService } from '../support/process.ts';
import { addSiteWithCli, attemptAt, backgroundNoise, sendSigned, XSS_USER_AGENT, XSS_USERNAME, type SeedSite } from '../browser/seed.ts';

const ADMIN_TOKEN = 'browser-test-admin-token-0123456789';
const ATTACKER = '203.0.113.66';
const ARTIFACTS = join(ROOT, 'test/artifacts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let dataDir: string;
let profileDir: string;
let service: RunningService;
let context: BrowserContext;
let page: Page;
const dialogs: string[] = [];
const cspViolations: string[] = [];
const foreignRequests: string[] = [];

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

before(async () => {
  const deps = spawnSync('bash', [join(ROOT, 'scripts/browser-deps.sh')], { encoding: 'utf8' });
  assert.equal(deps.status, 0, `scripts/browser-deps.sh failed:\n${deps.stdout}${deps.stderr}`);
  mkdirSync(ARTIFACTS, { recursive: true });

  dataDir = mkdtempSync(join(tmpdir(), 'edgejail-browser-'));
  const env = { EDGEJAIL_DATA_DIR: dataDir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN };
  const sites: SeedSite[] = ['shop.example', 'blog.example', 'news.example'].map((name) => addSiteWithCli(name, env));
  service = await startServiceProcess(env, { production: true }); // the dashboard as npm start serves it

  const nowMs = Date.now();
  for (const [i, site] of sites.entries()) {
    const noise = await sendSigned(service.url, site, backgroundNoise(nowMs, i, [260, 140, 60][i]!));
    assert.equal(noise.status, 200, JSON.stringify(noise.body));
  }
  // The attacker: five failed logins in a minute, with markup where the username and user agent go.
  const attack = Array.from({ length: 5 }, (_, k) =>
    attemptAt(ATTACKER, nowMs - (60 - k * 10) * 1000, { username: XSS_USERNAME, user_agent: XSS_USER_AGENT }),
  );
  const res = await sendSigned(service.url, sites[0]!, attack);
  assert.equal(res.status, 200);
  assert.equal(res.body.decisions[0]?.ip_key, ATTACKER, 'the signed events must have banned the attacker');
  // The page shows the Cloudflare state; let the (dry-run) enforcer get to the ban first.
  await until(async () => {
    const bans = await fetch(`${service.url}/v1/bans`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return ((await bans.json()) as { bans: Array<{ ip_key: string; cloudflare: string | null }> }).bans.some((b) => b.ip_key === ATTACKER && b.cloudflare === 'dry_run');
  }, 'the enforcer to record the dry-run block');

  profileDir = mkdtempSync(join(tmpdir(), 'edgejail-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(service.url) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
  });
});

after(async () => {
  await context?.close();
  await service?.stop();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('without a session the dashboard sends the browser to the sign-in page', async () => {
  await page.goto(`${service.url}/dashboard`);
  assert.match(page.url(), /\/dashboard\/login$/);
  await page.getByLabel('Admin token').fill('not-the-token-at-all-0000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That is not the admin token.').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-login.png') });
});

test('the admin signs in and sees the ban a signed event caused, with the attacker markup shown as text', async () => {
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Last 24 hours' }).waitFor();

  const bans = page.getByRole('table', { name: /Active bans/ });
  const row = bans.getByRole('row').filter({ hasText: ATTACKER });
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /wordpress/);
  assert.match(await row.innerText(), /dry-run/);

  // The username arrives as text in the top-usernames table, never as an element.
  const usernames = page.getByRole('region', { name: 'Top usernames tried' });
  await usernames.getByText(XSS_USERNAME, { exact: true }).waitFor();
  assert.equal(await page.locator('body script:not([src])').count(), 0);
  assert.equal(await page.locator('img[src="x"]').count(), 0);

  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  assert.ok(statSync(join(ARTIFACTS, 'dashboard.png')).size > 10_000);
});

test('the per-IP page shows the events with the user agent escaped', async () => {
  await page.getByRole('link', { name: ATTACKER }).first().click();
  await page.getByRole('heading', { name: ATTACKER }).waitFor();
  const events = page.getByRole('table', { name: /Events from/ });
  assert.equal(await events.getByRole('row').filter({ hasText: XSS_USER_AGENT }).count(), 5);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-ip.png'), fullPage: true });
  await page.getByRole('link', { name: 'Overview' }).first().click();
  await page.getByRole('heading', { name: 'Last 24 hours' }).waitFor();
});

test('unbanning from the page lifts the ban and writes the audit log as admin:dashboard', async () => {
  await page.getByRole('button', { name: `Unban ${ATTACKER}` }).click();
  await page.getByRole('status').filter({ hasText: `Unbanned ${ATTACKER}` }).waitFor();
  assert.equal(await page.getByRole('table', { name: /Active bans/ }).getByRole('row').filter({ hasText: ATTACKER }).count(), 0);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-after-unban.png'), fullPage: true });

  const history = await fetch(`${service.url}/v1/ips/${ATTACKER}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const body = (await history.json()) as { banned_until: string | null; audit: Array<{ actor: string; action: string }> };
  assert.equal(body.banned_until, null);
  assert.ok(body.audit.some((a) => a.actor === 'admin:dashboard' && a.action === 'unban'), JSON.stringify(body.audit));
});

test('the API docs render from the local Swagger UI under their CSP', async () => {
  await page.goto(`${service.url}/docs`);
  await page.getByText('/v1/events').first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'docs.png') });
});

test('nothing tried to run attacker markup, broke the CSP or fetch from elsewhere', () => {
  assert.deepEqual(dialogs, []);
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(foreignRequests, []);
});
