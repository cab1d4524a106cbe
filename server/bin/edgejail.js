#!/usr/bin/env node
// The `edgejail` command. It runs the bundle `npm run build` (and `npm start`, and `npm
// install`) writes to dist/ while that is newer than every source file, since plain Node
// starts it several times faster than tsx loads and compiles the sources; otherwise it runs
// the TypeScript through tsx, so an edited checkout never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = join(root, 'dist', 'server', 'cli.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const fresh = existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource(join(root, 'server'));
let runCli;
if (fresh) {
  ({ runCli } = await import(bundle));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ runCli } = await import('../cli.ts'));
}
process.exitCode = await runCli(process.argv.slice(2));
