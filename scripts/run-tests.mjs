#!/usr/bin/env node
// `npm test`: every suite the project has, in the order that fails fastest, with one
// summary of the counts at the end. Suites that need PHP/WordPress/MariaDB install and
// start those themselves (scripts/wp-env.sh), so a fresh Debian machine needs nothing else.
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2); // e.g. `npm test -- unit http`
const results = [];

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

// Output is streamed as it comes, so a run cut short still shows where it stood.
async function run(label, cmd, args, parseCounts) {
  if (only.length && !only.some((o) => label.startsWith(o))) return;
  console.log(`\n=== ${label}: ${cmd} ${args.map((a) => (a.startsWith(root) ? relative(root, a) : a)).join(' ')}`);
  const started = Date.now();
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    out += chunk;
  });
  const status = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const counts = parseCounts ? parseCounts(out) : {};
  results.push({ label, ok: status === 0, seconds: (Date.now() - started) / 1000, ...counts });
}

// A wait that never comes true fails after this long, naming the test (Node 20 applies it
// to each file's run as well), instead of holding the whole run until CI gives up: the
// slowest file takes a few minutes.
// --test-force-exit: a file whose tests are done exits even if a handle was left open.
const NODE_TEST_FLAGS = ['--import', 'tsx', '--test', '--test-timeout=900000', '--test-force-exit', '--test-reporter=spec'];

const nodeCounts = (out) => {
  const n = (k) => Number((out.match(new RegExp(`^(?:# |ℹ )${k} (\\d+)`, 'm')) ?? [])[1] ?? 0);
  return { tests: n('tests'), pass: n('pass'), fail: n('fail') };
};
const phpunitCounts = (out) => {
  const ok = out.match(/OK \((\d+) tests?/);
  if (ok) return { tests: Number(ok[1]), pass: Number(ok[1]), fail: 0 };
  const bad = out.match(/Tests: (\d+).*?(?:Failures: (\d+))?.*?(?:Errors: (\d+))?/s);
  if (bad) { const f = Number(bad[2] ?? 0) + Number(bad[3] ?? 0); return { tests: Number(bad[1]), pass: Number(bad[1]) - f, fail: f }; }
  return {};
};

await run('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
const nodeSuites = ['unit', 'http', 'fake-cloudflare', 'cloudflare', 'fail2ban'];
for (const suite of nodeSuites) {
  const files = findTests(join(root, 'test', suite)).sort();
  if (files.length) await run(suite, process.execPath, [...NODE_TEST_FLAGS, '--test-concurrency=2', ...files], nodeCounts);
}
if (existsSync(join(root, 'test/wp/run.sh'))) await run('wp', 'bash', [join(root, 'test/wp/run.sh')], phpunitCounts);
// The same WordPress as a subdirectory multisite network, the plugin network-activated.
if (existsSync(join(root, 'test/wp/run-multisite.sh'))) await run('wp-multisite', 'bash', [join(root, 'test/wp/run-multisite.sh')], phpunitCounts);
// The PHP x WordPress matrix's two ends (oldest PHP on the oldest WordPress, newest on newest);
// `npm run test:matrix` runs every pair.
const matrixCounts = (out) => {
  const m = out.match(/^matrix: (\d+) passed, (\d+) failed$/m);
  return m ? { tests: Number(m[1]) + Number(m[2]), pass: Number(m[1]), fail: Number(m[2]) } : {};
};
if (existsSync(join(root, 'scripts/wp-matrix.sh'))) {
  process.env.WP_MATRIX_PAIRS ??= '7.4:6.1 8.5:6.8';
  await run('wp-matrix', 'bash', [join(root, 'scripts/wp-matrix.sh')], matrixCounts);
}
const e2e = findTests(join(root, 'test', 'e2e')).sort();
if (e2e.length) await run('e2e', process.execPath, [...NODE_TEST_FLAGS, '--test-concurrency=1', ...e2e], nodeCounts);

console.log('\n=== summary');
let total = 0, passed = 0, failed = 0;
for (const r of results) {
  const counts = r.tests !== undefined ? `${r.pass}/${r.tests} passed${r.fail ? `, ${r.fail} failed` : ''}` : '';
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.label.padEnd(16)} ${counts.padEnd(24)} ${r.seconds.toFixed(1)}s`);
  total += r.tests ?? 0; passed += r.pass ?? 0; failed += r.fail ?? 0;
}
console.log(`tests: ${total}, passed: ${passed}, failed: ${failed}`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
