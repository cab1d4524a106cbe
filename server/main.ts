// `npm start` / `edgejail serve`: load config, build the app, listen, shut down cleanly.
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { explainBusyPorts } from './shared/port-check.ts';

export async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`edgejail: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // Before the database is opened or the enforcer started: a second instance must not
  // half-start and race the first one at Cloudflare.
  const busy = await explainBusyPorts([{ host: config.host, port: config.port, what: 'ingest' }]);
  if (busy) {
    console.error(`edgejail: ${busy}`);
    process.exit(1);
  }
  const app = await buildApp(config);
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
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // Taken between the check and now: still a sentence, not a stack trace.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw error;
    console.error(`edgejail: ${(await explainBusyPorts([{ host: config.host, port: config.port, what: 'ingest' }])) ?? (error as Error).message}`);
    await app.close();
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
