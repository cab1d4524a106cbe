// The whole story's cast on loopback: WordPress with the plugin behind nginx + php-fpm (the
// origin), the EdgeJail service, the fake Cloudflare API, and the edge proxy in front.
// Used by the end-to-end test and by the benchmark's origin-load section.
import { freePort } from '../../support/process.ts';
import { startFakeCloudflare, type FakeCloudflare, type FakeCloudflareOptions } from '../../fake-cloudflare/server.ts';
import { DEFAULT_EDGE_SOURCE, startEdgeProxy, type EdgeProxy } from '../edge-proxy.ts';
import { configurePlugin, originPaths, runOriginScript, unconfigurePlugin, type OriginPaths } from './origin.ts';
import { startStoryService, type Backend, type StoryService } from './edgejail-service.ts';

export interface Origin {
  paths: OriginPaths;
  env: NodeJS.ProcessEnv;
  url: string;
  stop(): Promise<void>;
}

/** Installs what is missing, starts MariaDB, nginx and php-fpm on a free loopback port. */
export async function startOrigin(env: NodeJS.ProcessEnv = {}): Promise<Origin> {
  try {
    await runOriginScript(['setup'], env);
  } catch (error) {
    await runOriginScript(['stop'], env).catch(() => undefined); // setup may have started MariaDB
    throw error;
  }
  const paths = await originPaths(env);
  const port = await freePort();
  try {
    await runOriginScript(['start', '127.0.0.1', String(port)], env);
  } catch (error) {
    await runOriginScript(['stop'], env).catch(() => undefined);
    throw error;
  }
  return {
    paths,
    env,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      unconfigurePlugin(paths);
      await runOriginScript(['stop'], env);
    },
  };
}

export interface Story {
  backend: Backend;
  fake: FakeCloudflare;
  service: StoryService;
  edge: EdgeProxy;
  origin: Origin;
  close(): Promise<void>;
}

export interface StoryOptions {
  backend: Backend;
  jails: Record<string, unknown>;
  cloudflare?: Record<string, unknown>;
  fake?: FakeCloudflareOptions;
  /** See EdgeProxyOptions.onForward. */
  onForward?: (clientIp: string, ray: string) => void;
  /**
   * The login shield: its config section, the site's hostname (the edge serves only that
   * name), and the clearance cookies the edge accepts for a challenge.
   */
  shield?: { config: Record<string, unknown>; siteHost: string; clearances: ReadonlySet<string> };
}

/** A fresh site, service and Cloudflare account in front of a running origin. */
export async function startStory(origin: Origin, options: StoryOptions): Promise<Story> {
  const fake = await startFakeCloudflare(options.fake ?? {});
  const closers: Array<() => Promise<void>> = [() => fake.close()];
  try {
    const service = await startStoryService({
      backend: options.backend, fake, jails: options.jails, cloudflare: options.cloudflare,
      ...(options.shield ? { shield: options.shield.config, siteHost: options.shield.siteHost, zoneId: fake.zoneId } : {}),
    });
    closers.unshift(() => service.dispose());
    configurePlugin(origin.paths, { serviceUrl: service.url, siteId: service.site.id, secret: service.site.secret, edgeAddresses: [DEFAULT_EDGE_SOURCE] });
    await runOriginScript(['reset-site'], origin.env);
    const edge = await startEdgeProxy({
      origin: origin.url, isBlocked: (ip) => fake.isBlocked(ip), sourceAddress: DEFAULT_EDGE_SOURCE, onForward: options.onForward,
      ...(options.shield ? { shieldRules: () => fake.customRules('zone'), siteHost: options.shield.siteHost, clearances: options.shield.clearances } : {}),
    });
    closers.unshift(() => edge.close());
    return {
      backend: options.backend,
      fake,
      service,
      edge,
      origin,
      close: async () => {
        for (const close of closers) await close();
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined);
    throw error;
  }
}
