// The service (never ban Cloudflare's edge) and the plugin (trust CF-Connecting-IP only
// from it) each carry Cloudflare's ranges: the plugin must run with no service reachable,
// so it bundles its own copy. Two copies must not drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from '../../server/jail/never-ban.ts';
import { ROOT } from '../support/process.ts';

function phpArray(source: string, constant: string): string[] {
  const body = new RegExp(`const ${constant} = array\\(([^)]*)\\);`).exec(source)?.[1];
  assert.ok(body, `${constant} not found in the plugin`);
  return [...body.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

test("the plugin's bundled Cloudflare ranges are the service's", () => {
  const php = readFileSync(`${ROOT}/wp-plugin/edgejail/includes/class-edgejail-cloudflare-ranges.php`, 'utf8');
  assert.deepEqual(phpArray(php, 'BUNDLED_IPV4'), [...CLOUDFLARE_IPV4]);
  assert.deepEqual(phpArray(php, 'BUNDLED_IPV6'), [...CLOUDFLARE_IPV6]);
});
