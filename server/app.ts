// Builds the Fastify app from a config object; tests build it exactly the same way.
// main.ts only loads config and listens.
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fastifyAuth from '@fastify/auth';
import type { Config } from './config/schema.ts';
import { databasePath } from './config/load.ts';
import { openDatabase, type Db } from './store/db.ts';
import { startCheckpointer } from './store/checkpointer.ts';
import { createCore, type Core } from './core.ts';
import { MetricsRegistry } from './metrics/registry.ts';
import { MAX_BODY_BYTES } from './contract/events.ts';
import { registerRawJsonBody } from './http/raw-json-body.ts';
import { registerErrorHandler } from './http/error-handler.ts';
import { registerOverloadShedding } from './http/overload.ts';
import { registerRequestLog } from './http/request-log.ts';
import { verifySiteSignature } from './auth/site-signature.ts';
import { resolveAdminToken, verifyAdminToken } from './auth/admin-token.ts';
import { eventRoutes } from './routes/events.ts';
import { siteConfigRoutes } from './routes/site-config.ts';
import { adminRoutes } from './routes/admin.ts';
import { healthRoutes } from './routes/health.ts';
import { openApiPlugin } from './openapi/plugin.ts';
import { dashboardRoutes } from './dashboard/plugin.ts';
import { boardMetrics } from './dashboard/metrics.ts';
import { startBackgroundJobs } from './background.ts';
import { createEnforcer, type Enforcer } from './cloudflare/enforcer.ts';
import type { SiteRow } from './store/store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    core: Core;
    metrics: MetricsRegistry;
    enforcer: Enforcer;
    verifySite: (request: FastifyRequest) => Promise<void>;
    verifyAdmin: (request: FastifyRequest) => Promise<void>;
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
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? {
      level: config.log_level,
      redact: ['req.headers.authorization', 'req.headers["x-edgejail-signature"]', 'req.headers.cookie'],
    },
    bodyLimit: MAX_BODY_BYTES,
    // registerRequestLog writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Behind a reverse proxy the access log should show the proxy; we never derive
    // an attacker's IP from our own request, only from the signed event.
    trustProxy: false,
  });

  const dbFile = databasePath(config);
  const db = options.db ?? openDatabase(dbFile);
  const checkpointer = options.db ? undefined : startCheckpointer(db, dbFile, { onError: (message) => app.log.warn(message) });
  const adminToken = resolveAdminToken(config.admin_token, config.data_dir);
  if (adminToken.source === 'generated') app.log.info({ file: `${config.data_dir}/admin-token` }, 'generated an admin token (mode 0600)');

  let enforcer: Enforcer | undefined;
  const core = createCore(config, db, { now: options.now, onEnforcementChange: () => enforcer?.wake() });
  enforcer = createEnforcer({ db, config: config.cloudflare, logger: app.log, now: options.now });

  app.decorate('core', core);
  app.decorate('metrics', new MetricsRegistry());
  app.decorate('enforcer', enforcer);
  app.decorateRequest('site', undefined);
  app.decorate('verifySite', async (request: FastifyRequest) => {
    request.site = verifySiteSignature(request, core.store, { nowMs: core.now(), maxSkewSeconds: config.signature_max_skew });
  });
  app.decorate('verifyAdmin', async (request: FastifyRequest) => verifyAdminToken(request, adminToken.token));

  registerRawJsonBody(app);
  registerErrorHandler(app);
  registerRequestLog(app);
  const shed = app.metrics.counter('edgejail_requests_shed_total', 'Requests refused with 429/503 to stay bounded, by cause');
  await registerOverloadShedding(app, config.overload, (reason) => shed.inc({ reason }));
  await app.register(fastifyAuth);

  await app.register(openApiPlugin); // first: it records every route registered after it
  await app.register(healthRoutes);
  await app.register(eventRoutes);
  await app.register(siteConfigRoutes);
  await app.register(adminRoutes);
  await app.register(dashboardRoutes, { prefix: '/dashboard' });
  await app.register(boardMetrics);

  if (options.backgroundJobs ?? true) {
    const jobs = startBackgroundJobs(app);
    app.addHook('onClose', async () => jobs.stop());
  }
  app.addHook('onReady', async () => enforcer!.start());
  app.addHook('onClose', async () => {
    await enforcer!.stop();
    await checkpointer?.stop();
    if (!options.db) db.close();
  });
  return app;
}
