#!/usr/bin/env node
// `npm test`: every suite the project has, in the order that fails fastest, with one
// summary of the counts at the end. Suites that need PHP/WordPress/MariaDB install and
// start those themselves (scripts/wp-env.sh), so a fresh Debian machine needs nothing else.
import { spawnSync } from 'node:child_process';
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

function run(label, cmd, args, parseCounts) {
  if (only.length && !only.some((o) => label.startsWith(o))) return;
  console.log(`\n=== ${label}: ${cmd} ${args.map((a) => (a.startsWith(root) ? relative(root, a) : a)).join(' ')}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  process.stdout.write(r.stdout ?? '');
  const counts = parseCounts ? parseCounts(r.stdout ?? '') : {};
  results.push({ label, ok: r.status === 0, seconds: (Date.now() - started) / 1000, ...counts });
}

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

run('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
const nodeSuites = ['unit', 'http', 'fake-cloudflare', 'cloudflare', 'fail2ban'];
for (const suite of nodeSuites) {
  const files = findTests(join(root, 'test', suite)).sort();
  if (files.length) run(suite, process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], nodeCounts);
}
if (existsSync(join(root, 'test/wp/run.sh'))) run('wp', 'bash', [join(root, 'test/wp/run.sh')], phpunitCounts);
// The same WordPress as a subdirectory multisite network, the plugin network-activated.
if (existsSync(join(root, 'test/wp/run-multisite.sh'))) run('wp-multisite', 'bash', [join(root, 'test/wp/run-multisite.sh')], phpunitCounts);
// The PHP x WordPress matrix's two ends (oldest PHP on the oldest WordPress, newest on newest);
// `npm run test:matrix` runs every pair.
const matrixCounts = (out) => {
  const m = out.match(/^matrix: (\d+) passed, (\d+) failed$/m);
  return m ? { tests: Number(m[1]) + Number(m[2]), pass: Number(m[1]), fail: Number(m[2]) } : {};
};
if (existsSync(join(root, 'scripts/wp-matrix.sh'))) {
  process.env.WP_MATRIX_PAIRS ??= '7.4:6.1 8.5:6.8';
  run('wp-matrix', 'bash', [join(root, 'scripts/wp-matrix.sh')], matrixCounts);
}
const e2e = findTests(join(root, 'test', 'e2e')).sort();
if (e2e.length) run('e2e', process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...e2e], nodeCounts);

console.log('\n=== summary');
let total = 0, passed = 0, failed = 0;
for (const r of results) {
  const counts = r.tests !== undefined ? `${r.pass}/${r.tests} passed${r.fail ? `, ${r.fail} failed` : ''}` : '';
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.label.padEnd(16)} ${counts.padEnd(24)} ${r.seconds.toFixed(1)}s`);
  total += r.tests ?? 0; passed += r.pass ?? 0; failed += r.fail ?? 0;
}
console.log(`tests: ${total}, passed: ${passed}, failed: ${failed}`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
