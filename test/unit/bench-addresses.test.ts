// The bench measures what an attacker costs, so every address its load generators send
// from must be counted by the jails, never ignored as allowlisted or never-ban.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CidrSet } from '../../server/jail/ip.ts';
import { ignoreReasonFor } from '../../server/jail/ignore.ts';
import { NEVER_BAN_RANGES } from '../../server/jail/never-ban.ts';
import { BENCH_IP_CAPACITY, SPREAD_IP_CAPACITY, benchIp, denseBenchIp, scatteredBenchIp, spreadBenchIp, warmupBenchIp } from '../../bench/lib/addresses.ts';
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

test('the scattered order is the same addresses, each next one in another /24', () => {
  const scattered = Array.from({ length: BENCH_IP_CAPACITY }, (_, n) => scatteredBenchIp(n));
  assert.deepEqual(new Set(scattered), new Set(Array.from({ length: BENCH_IP_CAPACITY }, (_, n) => benchIp(n))), 'a permutation of benchIp');
  const network = (ip: string) => ip.slice(0, ip.lastIndexOf('.'));
  // In turn, 255 of every 256 neighbours share a /24; scattered, none of the first 100,000 do.
  for (let n = 1; n < 100_000; n++) assert.notEqual(network(scattered[n]!), network(scattered[n - 1]!), `${scattered[n - 1]} then ${scattered[n]}`);
  assert.equal(scatteredBenchIp(BENCH_IP_CAPACITY + 5), scatteredBenchIp(5), 'repeats past the capacity, as benchIp does');
});

test('the spread and dense botnets are counted too, spread one per /24', () => {
  const lists = { allowlist: new CidrSet([]), neverBan: new CidrSet(NEVER_BAN_RANGES) };
  const networks = new Set<string>();
  for (let n = 0; n < SPREAD_IP_CAPACITY; n++) {
    const ip = spreadBenchIp(n);
    if (n % 101 === 0) assert.equal(ignoreReasonFor(ip, lists), null, ip);
    networks.add(ip.slice(0, ip.lastIndexOf('.')));
  }
  assert.equal(networks.size, SPREAD_IP_CAPACITY, 'never two in one /24');
  for (const ip of [denseBenchIp(0, 0), denseBenchIp(49, 255)]) assert.equal(ignoreReasonFor(ip, lists), null, ip);
});

test('a warm-up sends addresses the jails count and no measured run sends', () => {
  const lists = { allowlist: new CidrSet([]), neverBan: new CidrSet(NEVER_BAN_RANGES) };
  const warm = Array.from({ length: BENCH_IP_CAPACITY }, (_, n) => warmupBenchIp(n));
  assert.equal(new Set(warm).size, BENCH_IP_CAPACITY, 'distinct up to the capacity');
  const measured = new Set(Array.from({ length: BENCH_IP_CAPACITY }, (_, n) => benchIp(n)));
  for (const ip of warm) assert.ok(!measured.has(ip), `${ip} is also a measured run's`);
  for (let n = 0; n < BENCH_IP_CAPACITY; n += 97) assert.equal(ignoreReasonFor(warm[n]!, lists), null, warm[n]);
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
