// `npm start` / `edgejail serve`: load config, build the app, listen, shut down cleanly.
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { listen } from './http/listeners.ts';

export async function serve(): Promise<void> {
  let config;
  let app;
  try {
    config = loadConfig();
    app = await buildApp(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`edgejail: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
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
  const addresses = await listen(app, app.listenerPlan, config);
  app.log.info({ addresses }, 'listening');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
