// Builds the Fastify app from a config object; tests build it exactly the same way.
// main.ts only loads config and listens.
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fastifyAuth from '@fastify/auth';
import type { Config } from './config/schema.ts';
import { databasePath } from './config/load.ts';
import { openDatabase, type Db } from './store/db.ts';
import { startCheckpointer, type Checkpointer } from './store/checkpointer.ts';
import { createCore, type Core } from './core.ts';
import { Counter } from 'prom-client';
import { createMetricsRegistry, startProcessMetrics, type MetricsRegistry } from './metrics/prometheus.ts';
import { MAX_BODY_BYTES } from './contract/events.ts';
import { registerRawJsonBody } from './http/raw-json-body.ts';
import { frameworkErrors, registerErrorHandler } from './http/error-handler.ts';
import { createIngestAdmission, registerOverloadShedding } from './http/overload.ts';
import { registerRequestLog } from './http/request-log.ts';
import { createListenerServer, loadTls, planListeners, registerListenerGate, type ListenerPlan } from './http/listeners.ts';
import { checkSiteHeaders, verifySiteSignature } from './auth/site-signature.ts';
import { adminTokenProblem, isAdminToken, resolveAdminToken, verifyAdminToken } from './auth/admin-token.ts';
import { ConfigError } from './config/load.ts';
import { createAggregates, type Aggregates } from './store/aggregates.ts';
import { createTableStats, type TableStats } from './metrics/table-stats.ts';
import { unauthorized } from './http/errors.ts';
import { eventRoutes } from './routes/events.ts';
import { siteConfigRoutes } from './routes/site-config.ts';
import { adminRoutes } from './routes/admin.ts';
import { healthRoutes } from './routes/health.ts';
import { shieldRoutes } from './routes/shield.ts';
import { openApiPlugin, schemaController } from './openapi/plugin.ts';
import { dashboardRoutes } from './dashboard/plugin.ts';
import { boardMetrics } from './dashboard/metrics.ts';
import { startBackgroundJobs } from './background.ts';
import { createConfiguredTail } from './logtail/in-service.ts';
import { createEnforcer, type Enforcer } from './enforcement/worker.ts';
import { guardFrom } from './enforcement/ranges.ts';
import type { SiteRow } from './store/store.ts';
import { createNotifier, type Notifier } from './notify/notifier.ts';
import { channelsFromConfig } from './notify/channels/from-config.ts';
import { serviceSources } from './notify/sources.ts';
import type { RetryPolicy } from './notify/delivery.ts';

declare module 'fastify' {
  interface FastifyInstance {
    core: Core;
    metrics: MetricsRegistry;
    enforcer: Enforcer;
    notifier: Notifier;
    verifySite: (request: FastifyRequest) => Promise<void>;
    verifyAdmin: (request: FastifyRequest) => Promise<void>;
    verifyMetrics: (request: FastifyRequest) => Promise<void>;
    /** The query worker's aggregate reads, shared by the dashboard and /metrics. */
    aggregates: Aggregates;
    tableStats: TableStats;
    listenerPlan: ListenerPlan;
    /** The WAL checkpoint thread; none when the caller brought its own connection. */
    checkpointer: Checkpointer | undefined;
  }
  interface FastifyRequest {
    site?: SiteRow;
  }
}

export interface BuildOptions {
  /** Defaults to the file under config.data_dir. */
  db?: Db;
  now?: () => number;
  logger?: FastifyServerOptions['logger'];
  /** Tests turn the timers off and drive expiry themselves. */
  backgroundJobs?: boolean;
  /** Tests shorten the alerts' retry backoff. */
  notifyRetry?: RetryPolicy;
}

/** The bearer token /metrics takes beside the admin token, from metrics.token_file. */
function readMetricsToken(file: string | undefined): string | null {
  if (!file) return null;
  let token: string;
  try {
    token = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`metrics.token_file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const problem = adminTokenProblem(token);
  if (problem) throw new ConfigError(`the metrics token in ${file} ${problem}`);
  return token;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const tlsFiles = loadTls(config); // before anything opens: a bad file stops start-up naming it
  const admission = createIngestAdmission(config.overload);
  const app = Fastify({
    logger: options.logger ?? {
      level: config.log_level,
      redact: ['req.headers.authorization', 'req.headers["x-edgejail-signature"]', 'req.headers.cookie'],
    },
    bodyLimit: MAX_BODY_BYTES,
    // registerRequestLog writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Only the configured proxies' X-Forwarded-For is believed, and only for per-client
    // limits; an attacker's IP is never derived from our own request, only from the signed event.
    trustProxy: config.trusted_proxies.length ? config.trusted_proxies : false,
    // Slow senders (slowloris) are cut off: a whole request within timeouts.request, headers
    // within timeouts.headers, an idle socket after timeouts.idle.
    requestTimeout: config.timeouts.request * 1000,
    keepAliveTimeout: config.timeouts.keep_alive * 1000,
    connectionTimeout: config.timeouts.idle * 1000,
    // The main listener serves ingest; its door refuses a saturated ingest request before Fastify.
    serverFactory: (handler) => createListenerServer(config, tlsFiles, (req, res) => {
      if (!admission.door(req, res)) handler(req, res);
    }),
    frameworkErrors,
    schemaController,
  });

  const dbFile = databasePath(config);
  const db = options.db ?? openDatabase(dbFile, { warn: (message) => app.log.warn(message) });
  const checkpointer = options.db ? undefined : startCheckpointer(db, dbFile, { onError: (message) => app.log.warn(message) });
  const adminToken = resolveAdminToken(config.admin_token, config.data_dir);
  if (adminToken.source === 'generated') app.log.info({ file: `${config.data_dir}/admin-token` }, 'generated an admin token (mode 0600)');
  const metricsToken = readMetricsToken(config.metrics.token_file);
  const listenerPlan = planListeners(config);

  // The enforcer first: the ban service tells it after every commit that changes a ban.
  const metrics = createMetricsRegistry();
  startProcessMetrics();
  // A range never covers an address that must not be banned: the never-ban ranges and the
  // allowlist as it is now (the core is built just below; the guard is only called later).
  const rangeGuard = guardFrom(() => {
    const { allowlist, neverBan } = core.ignoreLists();
    return [allowlist, neverBan];
  });
  const enforcer = createEnforcer({ db, config: config.cloudflare, logger: app.log, now: options.now, rangeGuard, shield: config.shield });
  const refused = new Counter({
    name: 'edgejail_bans_refused_total',
    help: 'Jail bans not placed because of overload.max_active_bans or the per-site quota, by cause',
    labelNames: ['cause'],
    registers: [metrics],
  });
  // The notifier reads the core, so it comes after it; a shield restored while the core is
  // built has nobody to tell yet, and the notifier's first tick reads it anyway.
  let notifier: Notifier | undefined;
  const core = createCore(config, db, {
    now: options.now,
    onEnforcementChange: () => enforcer.wake(),
    onBanRefused: (cause) => refused.inc({ cause }),
    // The shield row and its outbox row are already committed together; waking the enforcer
    // only saves the worker's poll. The notifier tells the owner.
    onShieldChange: () => {
      enforcer.wake();
      notifier?.wake();
    },
  });
  notifier = createNotifier({
    config: config.notify,
    channels: channelsFromConfig(config.notify, core.now),
    sources: serviceSources({ db, shield: core.shield, enforcerStatus: () => enforcer.status() }),
    audit: (entry) => core.store.audit(entry),
    logger: app.log,
    now: core.now,
    retry: options.notifyRetry,
  });

  let tail;
  try {
    tail = createConfiguredTail(core, config.tail, app.log);
  } catch (error) {
    await checkpointer?.stop();
    if (!options.db) db.close();
    throw error;
  }
  // A tail reading a backlog commits without a pause, as ingest does under load.
  checkpointer?.holdCommitsWith(tail.hold);

  app.decorate('core', core);
  app.decorate('metrics', metrics);
  app.decorate('enforcer', enforcer);
  app.decorate('notifier', notifier);
  app.decorateRequest('site', undefined);
  app.decorate('verifySite', async (request: FastifyRequest) => {
    request.site = verifySiteSignature(request, core.store, { nowMs: core.now(), maxSkewSeconds: config.signature_max_skew });
  });
  app.decorate('verifyAdmin', async (request: FastifyRequest) => verifyAdminToken(request, adminToken.token));
  // On its own listener /metrics is open (the operator firewalls that port); beside ingest
  // it takes the admin token or the metrics token.
  app.decorate('verifyMetrics', async (request: FastifyRequest) => {
    if (listenerPlan.metrics) return;
    try {
      verifyAdminToken(request, adminToken.token);
    } catch (error) {
      const given = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (!metricsToken || !given || !isAdminToken(given, metricsToken)) {
        throw unauthorized((error as { code?: string }).code ?? 'bad_token', '/metrics needs "Authorization: Bearer <admin token or metrics.token_file token>", or its own listener (metrics.listen)');
      }
    }
  });
  const aggregates = createAggregates(db);
  app.decorate('aggregates', aggregates);
  app.decorate('tableStats', createTableStats(aggregates, core.now));
  app.decorate('listenerPlan', listenerPlan);
  app.decorate('checkpointer', checkpointer);
  app.decorate('tlsFiles', tlsFiles);

  registerRawJsonBody(app);
  registerErrorHandler(app);
  registerRequestLog(app);
  registerListenerGate(app, listenerPlan);
  const shed = new Counter({ name: 'edgejail_requests_shed_total', help: 'Requests refused with 429/503 to stay bounded, by cause', labelNames: ['reason'], registers: [metrics] });
  await registerOverloadShedding(
    app,
    config.overload,
    admission,
    (reason) => {
      shed.inc({ reason });
      notifier!.recordShed(reason);
    },
    // Before an ingest slot is taken: only a known site with a fresh timestamp may send a body.
    (request) => {
      request.claimedSite = checkSiteHeaders(request, core.store, { nowMs: core.now(), maxSkewSeconds: config.signature_max_skew });
    },
  );
  await app.register(fastifyAuth);

  await app.register(openApiPlugin); // first: it records every route registered after it
  await app.register(healthRoutes);
  await app.register(eventRoutes);
  await app.register(siteConfigRoutes);
  await app.register(adminRoutes);
  await app.register(shieldRoutes);
  await app.register(dashboardRoutes, { prefix: '/dashboard' });
  await app.register(boardMetrics);

  if (options.backgroundJobs ?? true) {
    const jobs = startBackgroundJobs(app);
    app.addHook('onClose', async () => jobs.stop());
  }
  // Stopped before anything closes: a poll must not meet a closed database.
  app.addHook('preClose', async () => tail.stop());
  app.addHook('onReady', async () => {
    await enforcer.start();
    tail.start();
    notifier!.start({ timer: options.backgroundJobs ?? true });
  });
  app.addHook('onClose', async () => {
    await notifier!.stop();
    await enforcer.stop();
    await checkpointer?.stop();
    await aggregates.close();
    if (!options.db) db.close();
  });
  return app;
}
