// What every enforcement test starts from: a real SQLite file in a temp dir, the fake
// Cloudflare API, the real SDK, and bans made the way the core makes them (ban row and
// outbox row in one transaction).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { runCloudflareCommand } from '../../server/cloudflare/commands.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { parseCloudflareConfig, type CloudflareConfig } from '../../server/cloudflare/config.ts';
import { createEnforcer, type Enforcer, type EnforcerOptions } from '../../server/enforcement/worker.ts';
import { startFakeCloudflare, type FakeCloudflare, type FakeCloudflareOptions } from '../fake-cloudflare/server.ts';

export interface CapturedLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug'), lines };
}

export interface Harness {
  fake: FakeCloudflare;
  db: Db;
  dbFile: string;
  logger: CapturedLogger;
  config: CloudflareConfig;
  enforcers: Enforcer[];
  /** A new enforcer over the same database (a restart), started. */
  startEnforcer(config?: CloudflareConfig, options?: Pick<EnforcerOptions, 'rangeGuard'>): Promise<Enforcer>;
  ban(ipKey: string, options?: { jail?: string; seconds?: number }): number;
  /** Lifts a ban as the core does at expiry: state, then outbox, one transaction. */
  lift(banId: number, by?: string): void;
  /** Extends a ban's expiry, as the core does on a repeat offence. */
  extend(banId: number, seconds: number): void;
  /** Waits until the outbox is empty, through backoffs. */
  settle(enforcer: Enforcer): Promise<void>;
  close(): Promise<void>;
}

/** Settings that keep tests quick: short backoff and polling, a strict limiter. */
export function testConfig(fake: FakeCloudflare | null, overrides: Record<string, unknown> = {}): CloudflareConfig {
  return parseCloudflareConfig({
    ...(fake ? { api_token: fake.token, account_id: fake.accountId, base_url: fake.baseURL } : {}),
    retry: { base_ms: 20, max_ms: 300 },
    bulk_poll: { initial_ms: 20, max_ms: 100 },
    sdk: { timeout_ms: 2_000, max_retries: 0 },
    rate_limit: { max_per_second: 150 },
    ...overrides,
  });
}

export async function createHarness(options: { fake?: FakeCloudflareOptions; config?: Record<string, unknown>; dryRun?: boolean } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'edgejail-cf-'));
  const dbFile = join(dir, 'edgejail.db');
  const fake = await startFakeCloudflare({ bulkOperationMs: 20, ...options.fake });
  const db = openDatabase(dbFile);
  const store = createStore(db);
  const logger = captureLogger();
  const config = testConfig(options.dryRun ? null : fake, options.config);
  const enforcers: Enforcer[] = [];
  const nowIso = () => new Date().toISOString();

  return {
    fake,
    db,
    dbFile,
    logger,
    config,
    enforcers,
    async startEnforcer(cfg = config, extra = {}) {
      const enforcer = createEnforcer({ db, config: cfg, logger, ...extra });
      enforcers.push(enforcer);
      await enforcer.start();
      return enforcer;
    },
    ban(ipKey, { jail = 'wp-login', seconds = 3600 } = {}) {
      const at = nowIso();
      const id = store.transaction(() => {
        const banId = store.insertBan({
          ip_key: ipKey, jail, reason: 'test', trigger_event_ids: null, ban_count: 1,
          created_at: at, expires_at: new Date(Date.now() + seconds * 1000).toISOString(),
        });
        store.enqueueEnforcement(ipKey, at);
        return banId;
      });
      for (const e of enforcers) e.wake();
      return id;
    },
    lift(banId, by = 'expiry') {
      const at = nowIso();
      store.transaction(() => {
        const ban = store.banById(banId)!;
        store.liftBan(banId, at, by);
        store.enqueueEnforcement(ban.ip_key, at);
      });
      for (const e of enforcers) e.wake();
    },
    extend(banId, seconds) {
      const at = nowIso();
      store.transaction(() => {
        const ban = store.banById(banId)!;
        store.extendBan(banId, new Date(Date.now() + seconds * 1000).toISOString(), ban.reason);
        store.enqueueEnforcement(ban.ip_key, at);
      });
      for (const e of enforcers) e.wake();
    },
    async settle(enforcer) {
      for (;;) {
        await enforcer.drain();
        if (enforcer.status().outboxDepth === 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const e of enforcers) await e.stop();
      db.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Our rules at the fake (tagged), by scope. */
export function taggedRules(fake: FakeCloudflare, scope: 'account' | 'zone' = 'account') {
  return fake.accessRules(scope).filter((r) => r.notes.startsWith('edgejail:'));
}

export function actionsOf(db: Db, ipKey: string): Array<{ operation: string; outcome: string; http_status: number | null }> {
  return db
    .prepare(`SELECT operation, outcome, http_status FROM cloudflare_actions
      WHERE ip_key = ? OR batch_id IN (SELECT batch_id FROM cloudflare_batch_items WHERE ip_key = ?) ORDER BY id`)
    .all(ipKey, ipKey) as Array<{ operation: string; outcome: string; http_status: number | null }>;
}

// The list backend set up as `edgejail cloudflare setup` leaves it, and bans written the way one ingest batch writes them.
export async function listHarness(config: Record<string, unknown> = {}) {
  const h = await createHarness({ config: { backend: 'list', ...config } });
  const lines: string[] = [];
  const code = await runCloudflareCommand(['setup'], { db: h.db, config: { ...h.config, zone_id: h.fake.zoneId }, out: (l) => lines.push(l) });
  assert.equal(code, 0, lines.join('\n'));
  return h;
}

/** Bans many ip_keys in one transaction, as one ingest batch of a botnet would. */
export function banMany(h: Harness, ipKeys: string[]): number[] {
  const store = createStore(h.db);
  const at = new Date().toISOString();
  const until = new Date(Date.now() + 3_600_000).toISOString();
  const ids = store.transaction(() =>
    ipKeys.map((ipKey) => {
      const id = store.insertBan({ ip_key: ipKey, jail: 'wp-login', reason: 'botnet', trigger_event_ids: null, ban_count: 1, created_at: at, expires_at: until });
      store.enqueueEnforcement(ipKey, at);
      return id;
    }),
  );
  h.enforcers.forEach((e) => e.wake());
  return ids;
}

export function liftMany(h: Harness, banIds: number[]): void {
  const store = createStore(h.db);
  const at = new Date().toISOString();
  store.transaction(() => {
    for (const id of banIds) {
      store.liftBan(id, at, 'expiry');
      store.enqueueEnforcement(store.banById(id)!.ip_key, at);
    }
  });
  h.enforcers.forEach((e) => e.wake());
}

