// A person's path through the dashboard in a real headless Chromium (Debian's package,
// driven by playwright-core) against the real service process: sign in, see the ban a
// signed event caused, lift it from the page; and every page at a phone's 390 px and a
// desktop's 1280 px, with no sideways scrolling. Screenshots go to test/artifacts/.
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
// A proxy's own address reaching the service: stored, never counted, never banned.
const PROTECTED = '10.1.2.3';
const WIDTHS = [390, 1280] as const;
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
  const proxied = await sendSigned(service.url, sites[1]!, Array.from({ length: 30 }, (_, k) => attemptAt(PROTECTED, nowMs - (300 - k) * 1000)));
  assert.equal(proxied.status, 200);
  assert.deepEqual(proxied.body.decisions, [], 'a private address is never banned');
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
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(`${service.url}/dashboard/login`);
    await page.screenshot({ path: join(ARTIFACTS, `dashboard-login-${width}.png`), fullPage: true });
    const fit = await overflowing();
    assert.ok(fit.scrollWidth <= fit.innerWidth, `the sign-in page at ${width} px is ${fit.scrollWidth} px wide: ${fit.culprits.join(', ')}`);
  }
  await page.setViewportSize({ width: 1360, height: 900 });
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

/** Elements reaching past the right edge: what makes a page scroll sideways. */
async function overflowing(): Promise<{ scrollWidth: number; innerWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const culprits: string[] = [];
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      const box = el.getBoundingClientRect();
      if (box.right > width + 0.5 && box.width > 0 && culprits.length < 8) {
        culprits.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().replace(/\s+/g, '.')}` : ''} right=${Math.round(box.right)}`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, culprits };
  });
}

test('every page fits a 390 px phone and a 1280 px desktop: no sideways scroll, ban rows as cards, legible chart labels', async () => {
  const pages: Array<{ name: string; path: string; ready: () => Promise<unknown> }> = [
    { name: 'overview', path: '/dashboard', ready: () => page.getByRole('heading', { name: 'Last 24 hours' }).waitFor() },
    { name: 'overview-filtered', path: '/dashboard?q=wordpress', ready: () => page.getByText(/match(es)? “wordpress”/).waitFor() },
    { name: 'ip', path: `/dashboard/ip?ip=${ATTACKER}`, ready: () => page.getByRole('heading', { name: ATTACKER, exact: true }).waitFor() },
    { name: 'ip-protected', path: `/dashboard/ip?ip=${PROTECTED}`, ready: () => page.getByRole('heading', { name: 'Why EdgeJail never bans this address' }).waitFor() },
    { name: 'ip-prefix', path: '/dashboard/ip?ip=2001:db8:1234:5678::1', ready: () => page.getByRole('heading', { name: '2001:db8:1234:5678::/64', exact: true }).waitFor() },
    { name: 'lookup-refused', path: '/dashboard/ip?ip=not-an-address', ready: () => page.getByText('is not an IP address').waitFor() },
    { name: 'not-found', path: '/dashboard/nothing-here', ready: () => page.getByRole('heading', { name: 'Not found' }).waitFor() },
  ];
  const problems: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const p of pages) {
      await page.goto(`${service.url}${p.path}`);
      await p.ready();
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${p.name}-${width}.png`), fullPage: true });
      const fit = await overflowing();
      if (fit.scrollWidth > fit.innerWidth) problems.push(`${p.name} at ${width} px is ${fit.scrollWidth} px wide: ${fit.culprits.join(', ')}`);
    }

    await page.goto(`${service.url}/dashboard`);
    // The ban's Cloudflare state and its actions are on screen, not off to the right.
    // By CSS, not by role: a phone shows the rows as cards (CSS display), whatever the browser makes of their roles.
    const row = page.locator('table.bans tbody tr', { hasText: ATTACKER });
    for (const [what, locator] of [
      ['the Cloudflare state', row.getByText('dry-run')],
      ['the Unban button', row.getByRole('button', { name: `Unban ${ATTACKER}` })],
      ['the Extend button', row.getByRole('button', { name: `Extend the ban on ${ATTACKER}` })],
    ] as const) {
      const box = await locator.boundingBox();
      if (!box || box.x < 0 || box.x + box.width > width) problems.push(`${what} of the ban row at ${width} px is at ${JSON.stringify(box)}`);
    }
    // Axis labels of the chart drawn for this width: at least 10 px high on screen.
    const labels = page.locator('svg.chart:visible text');
    if ((await page.locator('svg.chart:visible').count()) !== 1) problems.push(`at ${width} px ${await page.locator('svg.chart:visible').count()} charts are visible`);
    const label = await labels.first().boundingBox();
    if (!label || label.height < 10) problems.push(`chart labels at ${width} px are ${label?.height.toFixed(1)} px high`);
    // The search box takes any address to its page.
    await page.getByRole('searchbox', { name: 'Look up an IP address or prefix' }).fill(PROTECTED);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('heading', { name: 'Why EdgeJail never bans this address' }).waitFor();
    if ((await page.getByRole('button', { name: 'Ban' }).count()) !== 0) problems.push(`the protected address's page at ${width} px offers a Ban button`);
  }
  await page.setViewportSize({ width: 1360, height: 900 });
  await page.goto(`${service.url}/dashboard`);
  assert.deepEqual(problems, []);
});

test('unbanning from the page lifts the ban and writes the audit log as admin:dashboard', async () => {
  await page.goto(`${service.url}/dashboard`);
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
