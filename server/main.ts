// `npm start` / `edgejail serve`: load config, build the app, listen, shut down cleanly.
import { buildApp } from './app.ts';
import type { Config } from './config/schema.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { listen, planListeners } from './http/listeners.ts';
import { explainBusyPorts } from './shared/port-check.ts';

/** Every address the service will listen on, named for the person reading the error. */
function plannedAddresses(config: Config): Array<{ host: string; port: number; what: string }> {
  const plan = planListeners(config);
  return [
    { host: plan.main.host, port: plan.main.port, what: 'ingest' },
    ...(plan.admin ? [{ ...plan.admin, what: 'admin' }] : []),
    ...(plan.metrics ? [{ ...plan.metrics, what: 'metrics' }] : []),
  ];
}

function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(`edgejail: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

export async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    exitOnConfigError(error);
  }
  // Before the database is opened or the enforcer started: a second instance must not
  // half-start and race the first one at Cloudflare.
  const busy = await explainBusyPorts(plannedAddresses(config));
  if (busy) {
    console.error(`edgejail: ${busy}`);
    process.exit(1);
  }
  let app;
  try {
    app = await buildApp(config);
  } catch (error) {
    exitOnConfigError(error);
  }
  const shutdown = (signal: string) => {
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  let addresses;
  try {
    addresses = await listen(app, app.listenerPlan, config);
  } catch (error) {
    // Taken between the check and now: still a sentence, not a stack trace.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw error;
    console.error(`edgejail: ${(await explainBusyPorts(plannedAddresses(config))) ?? (error as Error).message}`);
    await app.close();
    process.exit(1);
  }
  app.log.info({ addresses }, 'listening');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
