// Which address serves what. Ingest has to face the sites; the dashboard and admin API, and
// /metrics, should not have to. One Fastify app serves every listener (so tests that
// inject reach every route), and a gate answers 404 for a route asked on a listener that
// does not serve it.
import { createServer, type IncomingMessage, type Server, type ServerOptions } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.ts';
import { HttpError } from './errors.ts';

export type Surface = 'ingest' | 'admin' | 'metrics' | 'health';
export type ListenerName = 'main' | 'admin' | 'metrics';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ListenerPlan {
  main: ListenAddress & { surfaces: ReadonlySet<Surface> };
  admin?: ListenAddress;
  metrics?: ListenAddress;
}

const DEFAULT_ADMIN_PORT = 8788;
const INGEST_PATHS = new Set(['/v1/events', '/v1/cloudflare-ranges']);

export function surfaceOf(routeUrl: string): Surface {
  if (routeUrl === '/healthz') return 'health';
  if (routeUrl === '/metrics') return 'metrics';
  if (INGEST_PATHS.has(routeUrl)) return 'ingest';
  return 'admin';
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function planListeners(config: Config): ListenerPlan {
  const surfaces = new Set<Surface>(['ingest', 'health']);
  const adminApart = config.admin.port !== undefined || !isLoopbackHost(config.host);
  if (!adminApart) surfaces.add('admin');
  if (!config.metrics.listen) surfaces.add('metrics');
  return {
    main: { host: config.host, port: config.port, surfaces },
    ...(adminApart && { admin: { host: config.admin.host, port: config.admin.port ?? DEFAULT_ADMIN_PORT } }),
    ...(config.metrics.listen && { metrics: config.metrics.listen }),
  };
}

/** Node's own limits on slow clients; checked every second instead of Node's 30 s default. */
export function httpServerOptions(config: Config): ServerOptions {
  return {
    requestTimeout: config.timeouts.request * 1000,
    headersTimeout: config.timeouts.headers * 1000,
    keepAliveTimeout: config.timeouts.keep_alive * 1000,
    connectionsCheckingInterval: 1000,
  };
}

const LISTENER = Symbol('edgejail.listener');
type TaggedMessage = IncomingMessage & { [LISTENER]?: ListenerName };

export function listenerOf(request: FastifyRequest): ListenerName {
  return (request.raw as TaggedMessage)[LISTENER] ?? 'main';
}

function servedBy(plan: ListenerPlan, listener: ListenerName, surface: Surface): boolean {
  if (surface === 'health') return true;
  if (listener === 'main') return plan.main.surfaces.has(surface);
  return listener === surface;
}

// The admin and metrics servers `listen` starts, closed with the app (hooks must be added before it listens).
const extraServers = new WeakMap<FastifyInstance, Server[]>();

export function registerListenerGate(app: FastifyInstance, plan: ListenerPlan): void {
  const servers: Server[] = [];
  extraServers.set(app, servers);
  app.addHook('onClose', async () => {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    })));
  });
  app.addHook('onRequest', async (request) => {
    const url = request.routeOptions.url;
    if (url === undefined) return; // unknown path: the not-found handler answers
    const listener = listenerOf(request);
    if (!servedBy(plan, listener, surfaceOf(url))) throw new HttpError(404, 'not_found', `${request.method} ${url.split('?')[0]} is not served on this address`);
  });
}

/** Listens on every address of the plan; the extra servers close with the app. */
export async function listen(app: FastifyInstance, plan: ListenerPlan, config: Config): Promise<string[]> {
  const addresses = [await app.listen({ host: plan.main.host, port: plan.main.port })];
  const extra = extraServers.get(app)!;
  for (const name of ['admin', 'metrics'] as const) {
    const address = plan[name];
    if (!address) continue;
    const server = createServer(httpServerOptions(config), (req, res) => {
      (req as TaggedMessage)[LISTENER] = name;
      app.routing(req, res);
    });
    server.setTimeout(config.timeouts.idle * 1000);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    extra.push(server);
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : address.port;
    addresses.push(`http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${port} (${name})`);
  }
  return addresses;
}
