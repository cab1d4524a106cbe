// `npm run fake-cloudflare`: the fake Cloudflare API as a standalone process for demos, the e2e
// edge proxy and the benchmark. Options come from the environment; see README.md.
import { startFakeCloudflare, type FakeCloudflareOptions } from './server.ts';

function intFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const opts: FakeCloudflareOptions = {
  host: process.env.FAKE_CF_HOST || '127.0.0.1',
  port: intFromEnv('FAKE_CF_PORT') ?? 8788,
};
if (process.env.FAKE_CF_TOKEN) opts.token = process.env.FAKE_CF_TOKEN;
if (process.env.FAKE_CF_ACCOUNT_ID) opts.accountId = process.env.FAKE_CF_ACCOUNT_ID;
if (process.env.FAKE_CF_ZONE_ID) opts.zoneId = process.env.FAKE_CF_ZONE_ID;
const bulkMs = intFromEnv('FAKE_CF_BULK_OPERATION_MS');
if (bulkMs !== undefined) opts.bulkOperationMs = bulkMs;
const latency = intFromEnv('FAKE_CF_LATENCY_MS');
if (latency !== undefined) opts.latencyMs = latency;
const limit = intFromEnv('FAKE_CF_RATE_LIMIT');
if (limit !== undefined) opts.rateLimit = { limit, windowMs: 300_000, blockMs: 300_000 };

const fake = await startFakeCloudflare(opts);
// The token is printed on purpose: it is the fake's own test credential, needed by whoever starts it.
console.log(`fake Cloudflare API listening
  baseURL:    ${fake.baseURL}
  token:      ${fake.token}
  account id: ${fake.accountId}
  zone id:    ${fake.zoneId}
  control:    ${fake.url}/__fake/{blocked?ip=,calls,faults,state,reset}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void fake.close().then(() => process.exit(0));
  });
}
