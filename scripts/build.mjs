#!/usr/bin/env node
// Bundles the service into dist/server/main.mjs for `npm start`, and the CLI beside it. Running the TypeScript
// through tsx costs a loader thread and about 60 MB more resident memory; a service that
// exists to prevent OOMs should not pay that in production. Tests run the sources
// directly. Most dependencies are bundled too (below).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
// Stale chunks of an earlier build would otherwise pile up beside the new ones.
rmSync(join(root, 'dist/server/cli'), { recursive: true, force: true });
// Packages are bundled into ours unless they cannot be: native addons, packages that read
// their own files at run time (Swagger UI's assets, pino's transport workers, ajv's and
// fast-json-stringify's generated code), and the lazy ones an idle service never loads. A
// package left in node_modules costs Node a module record, a resolution walk of
// package.json files and its source per file. Imported from an ES module, a CommonJS entry is
// also lexed for its export names: with fastify and its ~60 files outside the bundle, those
// two walks were hot enough at start-up for V8 to optimise its own module loader, and that
// compiled code stayed resident. Bundled, the idle service took ~1.2 MB less (5 interleaved
// pairs, 2026-12-07: median 70.3 against 71.5 MB); zod, bundled first, started ~80 ms sooner.
const EXTERNAL = /^(better-sqlite3|cloudflare|nodemailer|yaml|@fastify\/swagger|tsx|ajv|fast-json-stringify|@fastify\/ajv-compiler|@fastify\/fast-json-stringify-compiler|pino|thread-stream)(\/|$)/;
// What stays outside is loaded with require(), as Node would from a CommonJS file, so that
// no export lexer runs over it; the banner gives the bundle a `require` of its own.
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!EXTERNAL.test(args.path)) return undefined;
      if (args.kind === 'import-statement') return { path: args.path, namespace: 'node-require' };
      return { path: args.path, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'node-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js', resolveDir: root }));
  },
};
// V8 keeps a module's source for its lifetime, one byte a character only while every character
// is Latin-1. esbuild escapes non-ASCII in strings, but not in tagged templates (it would change
// their raw text) nor in regexps: the dashboard's "·", "…" and "—" made the whole 0.97 MB bundle
// a 1.93 MB two-byte string. Our html tag reads the cooked strings, and nothing of ours reads
// String.raw, so a \u escape is the same character; it is written in the sources here. A
// backslash before such a character would turn into an escaped backslash: the build refuses it.
const asciiSources = {
  name: 'ascii-sources',
  setup(b) {
    b.onLoad({ filter: /[\\/]server[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!/[^\x00-\x7f]/.test(source)) return undefined;
      if (/\\[^\x00-\x7f]/.test(source)) throw new Error(`${args.path}: a backslash before a non-ASCII character; write the character as \\u.... instead`);
      return { contents: source.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), loader: 'ts' };
    });
  },
};
// zod's namespace (`z`) re-exports every locale it has, about 45 of them: ~300 KB of each
// bundle that V8 parses at every start and keeps as source for the process's lifetime. Our
// messages are English, which zod imports on its own (locales/en.js); `z.locales` is left
// with English alone.
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-english' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-english' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};
const common = {
  absWorkingDir: root,
  outdir: 'dist/server',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [externalPackages, asciiSources, englishOnlyZod],
  // Stack traces still map to server/*.ts (--enable-source-maps needs only the mappings), but
  // Node keeps every loaded map in memory: with the sources inlined it held another copy of
  // the whole service, about 0.9 MB of an idle heap.
  sourcemap: true,
  sourcesContent: false,
  // Without comments and blank space the bundle is a smaller string in V8's heap, where a
  // module's source stays for its lifetime (about 0.35 MB). Names are kept for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  banner: { js: 'import { createRequire as __edgejailCreateRequire } from "node:module"; const require = __edgejailCreateRequire(import.meta.url);' },
};
await build({
  ...common,
  // The dashboard's query worker is its own entry: a worker thread loads a file.
  entryPoints: { main: 'server/main.ts', 'aggregates-worker': 'server/store/aggregates-worker.ts' },
});

// The CLI: its dispatcher finds the commands by listing cli/commands/, so each command is its
// own entry and what they share is split into chunks. Plain Node starts it in a fraction of
// the time tsx needs to load and compile the sources; server/bin/edgejail.js runs it while
// it is newer than every source file.
await build({
  ...common,
  entryPoints: ['server/cli.ts', ...readdirSync(join(root, 'server/cli/commands')).filter((f) => f.endsWith('.ts')).map((f) => `server/cli/commands/${f}`)],
  outbase: 'server',
  chunkNames: 'cli/chunks/[name]-[hash]',
  splitting: true,
});
