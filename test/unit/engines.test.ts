// `npm install` on every Node version package.json's engines admits must pass without an
// EBADENGINE warning: no locked package may demand a newer Node than we say we need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/process.ts';

type Version = [number, number, number];
const parse = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v.replace(/^v/, '').split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
  return [a, b, c];
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** One comparator of an npm range (the forms the lock file holds: >=, >, <, <=, ^, ~, X.x, X.*, *). */
function admits(comparator: string, v: Version): boolean {
  if (comparator === '*' || comparator === '') return true;
  const m = /^(>=|<=|>|<|\^|~|=)?(.+)$/.exec(comparator)!;
  const [op, raw] = [m[1] ?? '', m[2]!];
  const wildcard = raw.split('.').findIndex((p) => p === 'x' || p === '*');
  const base = parse(raw);
  if (!op && wildcard >= 0) return base.slice(0, wildcard).every((n, i) => n === v[i]);
  switch (op) {
    case '>=': return cmp(v, base) >= 0;
    case '>': return cmp(v, base) > 0;
    case '<': return cmp(v, base) < 0;
    case '<=': return cmp(v, base) <= 0;
    case '^': return cmp(v, base) >= 0 && v[0] === base[0];
    case '~': return cmp(v, base) >= 0 && v[0] === base[0] && v[1] === base[1];
    default: return cmp(v, base) === 0 || (raw.split('.').length === 1 && v[0] === base[0]);
  }
}
function satisfies(range: string, version: string): boolean {
  const v = parse(version);
  return range.split('||').some((alt) => alt.trim().replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').split(/\s+/).every((c) => admits(c, v)));
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };

test('the range checker reads npm ranges as npm does', () => {
  assert.ok(satisfies('>=20', '20.6.0'));
  assert.ok(!satisfies('>=22', '20.19.0'));
  assert.ok(satisfies('20.x || 22.x || 23.x', '22.3.0'));
  assert.ok(!satisfies('20.x || 22.x', '21.0.0'));
  assert.ok(satisfies('>= 10.x', '20.0.0'));
  assert.ok(satisfies('^8.16.0 || ^10.6.0 || >=11.0.0', '20.1.0'));
  assert.ok(!satisfies('^18.0.0', '20.0.0'));
});

test('every locked package accepts the oldest Node our engines allow, and the current LTS lines', () => {
  const floor = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node)?.[1];
  assert.ok(floor, `engines.node is a plain floor: ${pkg.engines.node}`);
  for (const version of [floor, '22.12.0', '24.0.0', process.versions.node]) {
    if (!satisfies(pkg.engines.node, version)) continue;
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node && !satisfies(p.engines.node, version))
      .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')} wants node ${(p.engines as { node: string }).node}`);
    assert.deepEqual(refused, [], `on Node ${version}`);
  }
});
