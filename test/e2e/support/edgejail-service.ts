// The EdgeJail service as the end-to-end test runs it: a real process (so it can be killed
// and restarted on the same port and data), pointed at the fake Cloudflare API, with a site
// created through the CLI like an admin would, and its SQLite file read directly to check
// what it stored.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, runCli, startServiceProcess, type RunningService } from '../../support/process.ts';
import { tempDir } from '../../support/service.ts';

export type Backend = 'access_rules' | 'list';

export interface FakeEndpoint {
  baseURL: string;
  token: string;
  accountId: string;
}

export interface StoryServiceOptions {
  /** overload.* settings (the bench lifts the per-site ban quota to measure the edge, not the quota). */
  overload?: Record<string, number>;
  backend: Backend;
  fake: FakeEndpoint;
  /** Merged over the service's default jails. */
  jails: Record<string, unknown>;
  /** Extra `cloudflare` config (retry, polling...). */
  cloudflare?: Record<string, unknown>;
  /** The `shield` config section; with it the site gets the fake's zone and `siteHost`. */
  shield?: Record<string, unknown>;
  /** The site's hostname (`edgejail site set <id> --host`): what its shield rule matches. */
  siteHost?: string;
  zoneId?: string;
}

export interface EventTotals {
  events: number;
  weight: number;
}

export interface BanRow {
  id: number;
  ip_key: string;
  jail: string;
  state: 'active' | 'lifted';
  created_at: string;
  expires_at: string;
  lifted_by: string | null;
}

export interface StoryService {
  url: string;
  site: { id: string; secret: string };
  dataDir: string;
  running(): RunningService | null;
  /** SIGTERM and wait for the exit, as systemd does on a restart. */
  stop(): Promise<void>;
  /** Starts again on the same port and data. */
  start(): Promise<void>;
  eventsFrom(ip: string): EventTotals;
  bansOf(ipKey: string): BanRow[];
  /** Stops the service and deletes its data. */
  dispose(): Promise<void>;
}

/** The CLI without blocking this process: the fake Cloudflare it talks to may live in it. */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['server/bin/edgejail.js', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, output }));
  });
}

export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

export async function startStoryService(options: StoryServiceOptions): Promise<StoryService> {
  const tmp = tempDir('edgejail-e2e-');
  const port = await freePort();
  const configFile = join(tmp.dir, 'edgejail.json');
  writeFileSync(configFile, JSON.stringify({ jails: options.jails, cloudflare: options.cloudflare ?? {}, ...(options.shield ? { shield: options.shield } : {}), ...(options.overload ? { overload: options.overload } : {}) }, null, 2));
  const env: NodeJS.ProcessEnv = {
    EDGEJAIL_DATA_DIR: tmp.dir,
    EDGEJAIL_CONFIG: configFile,
    EDGEJAIL_PORT: String(port),
    EDGEJAIL_HOST: '127.0.0.1',
    EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN,
    EDGEJAIL_LOG_LEVEL: 'warn',
    EDGEJAIL_CF_BACKEND: options.backend,
    CLOUDFLARE_API_TOKEN: options.fake.token,
    CLOUDFLARE_ACCOUNT_ID: options.fake.accountId,
    CLOUDFLARE_BASE_URL: options.fake.baseURL,
    ...(options.zoneId ? { CLOUDFLARE_ZONE_ID: options.zoneId } : {}),
  };
  const added = runCli(['site', 'add', 'e2e-wordpress', '--json'], env);
  if (added.status !== 0) throw new Error(`edgejail site add failed: ${added.stderr}`);
  const site = JSON.parse(added.stdout) as { id: string; secret: string };
  if (options.siteHost) {
    const set = runCli(['site', 'set', site.id, '--host', options.siteHost], env);
    if (set.status !== 0) throw new Error(`edgejail site set failed: ${set.stderr}`);
  }
  if (options.backend === 'list') {
    // The admin's one-time step for lists: the WAF custom rule `ip.src in $edgejail_blocked`.
    const setup = await runCliAsync(['cloudflare', 'setup'], env);
    if (setup.status !== 0) throw new Error(`edgejail cloudflare setup exited ${setup.status}: ${setup.output}`);
  }
  // The story runs what `npm start` runs: the bundle, with its node flags.
  let svc: RunningService | null = await startServiceProcess(env, { production: true });
  const dbPath = join(tmp.dir, 'edgejail.db');

  // A fresh read-only connection per question: the service may be restarted between them.
  const query = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return fn(db);
    } finally {
      db.close();
    }
  };

  return {
    url: `http://127.0.0.1:${port}`,
    site,
    dataDir: tmp.dir,
    running: () => svc,
    async stop() {
      if (!svc) return;
      const code = await svc.stop('SIGTERM');
      const output = svc.output();
      svc = null;
      if (code !== 0) throw new Error(`service exited with ${code} on SIGTERM: ${output}`);
    },
    async start() {
      if (svc) throw new Error('service already running');
      svc = await startServiceProcess(env, { production: true });
    },
    eventsFrom: (ip) =>
      query((db) => {
        const row = db.prepare('SELECT COUNT(*) AS events, COALESCE(SUM(weight), 0) AS weight FROM events WHERE ip = ?').get(ip) as EventTotals;
        return { events: row.events, weight: row.weight };
      }),
    bansOf: (ipKey) =>
      query((db) => db.prepare('SELECT id, ip_key, jail, state, created_at, expires_at, lifted_by FROM bans WHERE ip_key = ? ORDER BY id').all(ipKey) as BanRow[]),
    async dispose() {
      try {
        if (svc) await svc.stop('SIGTERM');
      } finally {
        svc = null;
        tmp.cleanup();
      }
    },
  };
}
