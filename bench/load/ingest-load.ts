// Load generator for signed POST /v1/events, run in its own process so it does not share
// the service's CPU budget with the event loop it measures. Every request carries fresh
// event ids and a fresh signature, so nothing is answered as a cheap duplicate, except
// that a batch refused with 429/503 is sent again as the plugin's spool would: same
// events, new signature. Building a new 50-event body for each of thousands of quick
// retries a second kept this process 80% busy, and its own delays were timed as the
// service's.
import autocannon from 'autocannon';
import { createHmac } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pluginEventId } from '../lib/event-id.ts';
import { benchIp, scatteredBenchIp, warmupBenchIp, BENCH_IP_CAPACITY } from '../lib/addresses.ts';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const url = String(args.url);
const site = String(args.site);
const secret = String(args.secret);
const batch = Number(args.batch ?? 1);
const duration = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 20);
const distinctIps = Number(args.ips ?? 100_000);
// Past the capacity addresses would repeat silently and the run would measure fewer attackers.
if (!(distinctIps >= 1 && distinctIps <= BENCH_IP_CAPACITY)) throw new Error(`--ips must be 1..${BENCH_IP_CAPACITY}, got ${args.ips}`);
// 'in-turn' (the default): the addresses one after another; 'scattered': as a botnet's arrive;
// 'warmup': in turn, from addresses no measured run sends (warmupBenchIp).
const order = String(args.order ?? 'in-turn');
if (order !== 'in-turn' && order !== 'scattered' && order !== 'warmup') throw new Error(`--order must be in-turn, scattered or warmup, got ${args.order}`);
const ipOf = order === 'scattered' ? scatteredBenchIp : order === 'warmup' ? warmupBenchIp : benchIp;
// Requests per second across all connections; 0 = as fast as the service answers (saturation).
const rate = Number(args.rate ?? 0);

let counter = 0;
function nextBody(): string {
  const now = new Date().toISOString();
  const events = [];
  for (let i = 0; i < batch; i++) {
    const n = counter++ % distinctIps;
    events.push({ id: pluginEventId(), type: 'login_failed', ip: ipOf(n), occurred_at: now, username: 'admin', user_agent: 'bench', path: '/wp-login.php', weight: 1 });
  }
  return JSON.stringify({ events });
}

// autocannon calls onResponse and then, synchronously, setupRequest for the same connection.
let retryBody: string | undefined;

// A body resent within the second it was signed carries the same signature: the service
// checks it all the same, and the generator, near its core's limit under overload, saves an
// HMAC over ~10 KB per retry. One entry per connection's body at most, cleared each second.
const signed = new Map<string, string>();
let signedAt = '';
function signature(ts: string, body: string): string {
  if (ts !== signedAt) {
    signed.clear();
    signedAt = ts;
  }
  let sig = signed.get(body);
  if (sig === undefined) {
    sig = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
    signed.set(body, sig);
  }
  return sig;
}

// This process's own event-loop delay: a response that arrives while it is busy (signing the
// next body, parsing the last answers) waits unread, and is timed as the service's.
const ownDelay = monitorEventLoopDelay({ resolution: 1 });
ownDelay.enable();

// Shed answers (429/503) timed apart: the overload target wants them quick, whatever the served ones wait.
const shedMs: number[] = [];
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon({
    url: `${url}/v1/events`,
    method: 'POST',
    connections,
    duration,
    ...(rate > 0 ? { overallRate: rate } : {}),
    requests: [
      {
        setupRequest: (req, context: { body?: string }) => {
          const body = retryBody ?? nextBody();
          retryBody = undefined;
          context.body = body;
          const ts = String(Math.floor(Date.now() / 1000));
          const sig = signature(ts, body);
          return { ...req, body, headers: { 'content-type': 'application/json', 'x-edgejail-site': site, 'x-edgejail-timestamp': ts, 'x-edgejail-signature': `sha256=${sig}` } };
        },
        onResponse: (status, _body, context: { body?: string }) => {
          if (status === 429 || status === 503) retryBody = context.body;
        },
      },
    ],
  }, (error, finished) => (error ? reject(error) : resolve(finished)));
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode === 429 || statusCode === 503) shedMs.push(responseTime);
  });
});
ownDelay.disable();
shedMs.sort((a, b) => a - b);

{
  const ok = result['2xx'];
  process.stdout.write(
    `${JSON.stringify({
      requests_per_s: ok / duration,
      events_per_s: (ok * batch) / duration,
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      non2xx: result.non2xx,
      shed_p99_ms: shedMs.length ? Math.round(shedMs[Math.min(shedMs.length - 1, Math.floor(0.99 * shedMs.length))]! * 100) / 100 : null,
      errors: result.errors,
      generator_delay_p99_ms: Math.round(ownDelay.percentile(99) / 1e4) / 100,
      timeouts: result.timeouts,
      status_codes: result.statusCodeStats,
    })}\n`,
  );
}
