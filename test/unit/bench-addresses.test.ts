// The bench measures what an attacker costs, so every address its load generators send
// from must be counted by the jails, never ignored as allowlisted or never-ban.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CidrSet } from '../../server/jail/ip.ts';
import { ignoreReasonFor } from '../../server/jail/ignore.ts';
import { NEVER_BAN_RANGES } from '../../server/jail/never-ban.ts';
import { BENCH_IP_CAPACITY, benchIp } from '../../bench/lib/addresses.ts';
import { ROOT } from '../support/process.ts';

test('every bench address is one the jails count', () => {
  const lists = { allowlist: new CidrSet([]), neverBan: new CidrSet(NEVER_BAN_RANGES) };
  const seen = new Set<string>();
  for (let n = 0; n < BENCH_IP_CAPACITY; n += 97) {
    const ip = benchIp(n);
    assert.equal(ignoreReasonFor(ip, lists), null, ip);
    seen.add(ip);
  }
  assert.equal(ignoreReasonFor(benchIp(BENCH_IP_CAPACITY - 1), lists), null);
  assert.equal(new Set(Array.from({ length: BENCH_IP_CAPACITY }, (_, n) => benchIp(n))).size, BENCH_IP_CAPACITY, 'distinct up to the capacity');
});

test('no bench load generator writes its own addresses', () => {
  const dir = join(ROOT, 'bench');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== join('lib', 'addresses.ts'));
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    // A template literal that starts with digits and a dot builds an IPv4 address by hand.
    assert.doesNotMatch(text, /`\d{1,3}\.(\d{1,3}\.|\$\{)/, `${file} builds addresses itself; use benchIp`);
  }
});
