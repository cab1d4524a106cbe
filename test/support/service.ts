// Builds the real app over a real SQLite file in a temp dir, with a site and a signer:
// what every HTTP test starts from.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions } from '../../server/app.ts';
import { loadConfig } from '../../server/config/load.ts';
import type { Config } from '../../server/config/schema.ts';
import { signBody } from '../../server/auth/site-signature.ts';
import { listen } from '../../server/http/listeners.ts';
import { freePort } from './process.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export function tempDir(prefix = 'edgejail-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Shedding by time (queueing delay, event-loop delay) is tested on its own with its own
// limits; elsewhere a loaded test machine must not turn a slow turn into a 429/503.
const UNHURRIED = { max_queue_delay_ms: 30_000, max_event_loop_delay_ms: 30_000 };

// Port 0 unless a test names one: a test that listens must never take the default 8787,
// where a CLI test running beside it (same admin token) would find it and ask it instead.
export function testConfig(dataDir: string, overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Config {
  const overload = { ...UNHURRIED, ...(overrides.overload as Record<string, unknown> | undefined) };
  const port = env.EDGEJAIL_PORT === undefined ? { port: 0 } : {};
  return loadConfig({ EDGEJAIL_DATA_DIR: dataDir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, ...env }, { log_level: 'silent', ...port, ...overrides, overload });
}

export interface TestSite {
  id: string;
  secret: string;
}

export function addSite(app: FastifyInstance, name = 'test-site'): TestSite {
  const site = { id: randomUUID(), name, secret: randomBytes(32).toString('hex'), created_at: new Date().toISOString() };
  app.core.store.insertSite(site);
  return { id: site.id, secret: site.secret };
}

export function signedHeaders(site: TestSite, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const ts = String(timestamp);
  return {
    'content-type': 'application/json',
    'x-edgejail-site': site.id,
    'x-edgejail-timestamp': ts,
    'x-edgejail-signature': `sha256=${signBody(site.secret, ts, body)}`,
  };
}

export function attempt(ip: string, overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    type: 'login_failed',
    ip,
    occurred_at: new Date().toISOString(),
    username: 'admin',
    user_agent: 'curl/8',
    path: '/wp-login.php',
    weight: 1,
    ...overrides,
  };
}

export async function postEvents(app: FastifyInstance, site: TestSite, events: unknown[]) {
  const body = JSON.stringify({ events });
  return app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(site, body), payload: body });
}

export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

export async function startService(overrides: Record<string, unknown> = {}, options: BuildOptions = {}, env: NodeJS.ProcessEnv = {}) {
  const tmp = tempDir();
  const config = testConfig(tmp.dir, overrides, env);
  const app = await buildApp(config, { backgroundJobs: false, ...options });
  await app.ready();
  const site = addSite(app);
  return {
    app,
    config,
    site,
    dir: tmp.dir,
    async close() {
      await app.close();
      tmp.cleanup();
    },
  };
}

/**
 * A real service listening twice, ingest on `main` and the admin API on its own address
 * (`admin.host`/`admin.port`), for tests of what each address serves.
 */
export async function withAdminListener(run: (urls: { main: string; admin: string }) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const adminPort = await freePort();
  const config = testConfig(tmp.dir, { port: 0, admin: { host: '127.0.0.1', port: adminPort } });
  const app = await buildApp(config, { backgroundJobs: false });
  try {
    await app.ready();
    const [main] = await listen(app, app.listenerPlan, config);
    await run({ main: main!, admin: `http://127.0.0.1:${adminPort}` });
  } finally {
    await app.close();
    tmp.cleanup();
  }
}
