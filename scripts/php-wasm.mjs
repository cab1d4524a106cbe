#!/usr/bin/env node
// `php` on a php-wasm build, for the plugin's PHP matrix: PHP=8.4 node scripts/php-wasm.mjs ARGS...
// runs real PHP 8.4 (the @php-wasm/node-8-4 build) with the host's files, like Debian's php.
// @php-wasm/cli does the same but exits 0 whatever PHP returned; `php -l`, PHPUnit and
// wp-install.php need the real exit code, so this is our own few lines over @php-wasm/node.
// PHP_BINARY is a shim that starts this file again with the same version, so the `php -S`
// servers and `php -l` runs the tests start are the version under test too.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PHP, SupportedPHPVersionsList } from '@php-wasm/universal';
import { FileLockManagerForPosix, loadNodeRuntime, useHostFilesystem } from '@php-wasm/node';

const version = process.env.PHP ?? '';
if (!SupportedPHPVersionsList.includes(version)) {
  process.stderr.write(`php-wasm: set PHP to one of ${SupportedPHPVersionsList.join(', ')} (got "${version}")\n`);
  process.exit(2);
}

// One shim per version, rewritten when it names another checkout or node (renamed into
// place, so a process starting meanwhile never runs half a file).
const binDir = join(tmpdir(), `edgejail-php-wasm-${version}`);
const shim = join(binDir, 'php');
const shimText = `#!/bin/sh\nPHP=${version} exec ${process.execPath} ${fileURLToPath(import.meta.url)} "$@"\n`;
if (!existsSync(shim) || readFileSync(shim, 'utf8') !== shimText) {
  mkdirSync(binDir, { recursive: true });
  const next = `${shim}.${process.pid}`;
  writeFileSync(next, shimText, { mode: 0o755 });
  renameSync(next, shim);
}

const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}`, TERM: 'dumb' };
// Real flock()/fcntl() locks: the PHPUnit process and the `php -S` site share one SQLite file.
const php = new PHP(await loadNodeRuntime(version, { fileLockManager: new FileLockManagerForPosix(), emscriptenOptions: { processId: process.pid, ENV: env } }));
// proc_open() with an argv array comes with args: no shell in between, so proc_terminate()
// reaches the child itself. A command string (exec(), shell_exec()) goes through sh.
await php.setSpawnHandler((command, args, options) =>
  spawn(command, args, { cwd: options?.cwd, env: options?.env ?? env, shell: args.length === 0, stdio: ['pipe', 'pipe', 'pipe'] }));
useHostFilesystem(php);

const response = await php.cli(['php', '-d', 'include_path=.:/usr/share/php', ...process.argv.slice(2)], { env });
const pipe = (stream, out) => stream.pipeTo(new WritableStream({ write: (chunk) => new Promise((done) => out.write(chunk, done)) }));
const piped = Promise.all([pipe(response.stdout, process.stdout), pipe(response.stderr, process.stderr)]);
let code;
try {
  code = await response.exitCode;
} catch (error) {
  code = error?.name === 'ExitStatus' && typeof error.status === 'number' ? error.status : 255;
  if (code === 255) process.stderr.write(`php-wasm: ${error?.stack ?? error}\n`);
}
await piped.catch(() => {});
process.exit(code);
