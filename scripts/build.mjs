#!/usr/bin/env node
// Bundles the service into dist/server/main.mjs for `npm start`. Running the TypeScript
// through tsx costs a loader thread and about 60 MB more resident memory; a service that
// exists to prevent OOMs should not pay that in production. Tests and the CLI run the
// sources directly; dependencies stay in node_modules (not bundled).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  // The dashboard's query worker is its own entry: a worker thread loads a file.
  entryPoints: { main: 'server/main.ts', 'aggregates-worker': 'server/store/aggregates-worker.ts' },
  outdir: 'dist/server',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
