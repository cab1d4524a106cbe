// Open-loop load for signed POST /v1/events: requests leave on a fixed schedule (rate per
// second), whether or not earlier ones have been answered, and each latency is measured
// from the moment its request was due. A closed-loop generator waits for answers before
// sending more, so a stalled service slows the generator down and hides the stall
// (coordinated omission); this one does not. Runs in its own process, like ingest-load.ts.
// The first --warmup seconds (default 2) ramp the rate up from 0 and are reported apart
// (warmup_p99_ms): a fresh process answers its first requests from cold code and opens its
// connections then. Hit at once with 3,000 requests/s, its first half second answered in
// 1.6–3.4 s and the backlog took 3 s to drain, while every later 250 ms stretch stayed under
// 12–60 ms. The rows are about a running service, so its load arrives as a ramp.
import { Agent, request } from 'node:http';
import { createHmac } from 'node:crypto';
import { pluginEventId } from '../lib/event-id.ts';
import { benchIp, BENCH_IP_CAPACITY } from '../lib/addresses.ts';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const url = new URL(String(args.url));
const site = String(args.site);
const secret = String(args.secret);
const batch = Number(args.batch ?? 1);
const duration = Number(args.duration ?? 8);
const rate = Number(args.rate);
const warmup = Number(args.warmup ?? 2);
if (!(rate > 0)) throw new Error(`--rate must be a positive number of requests per second, got ${args.rate}`);
const distinctIps = Math.min(Number(args.ips ?? 100_000), BENCH_IP_CAPACITY);

let counter = 0;
function nextBody(): string {
  const now = new Date().toISOString();
  const events = [];
  for (let i = 0; i < batch; i++) {
    events.push({ id: pluginEventId(), type: 'login_failed', ip: benchIp(counter++ % distinctIps), occurred_at: now, username: 'admin', user_agent: 'bench', path: '/wp-login.php', weight: 1 });
  }
  return JSON.stringify({ events });
}

const agent = new Agent({ keepAlive: true, maxSockets: 512 });
const latencies: number[] = [];
const warmupLatencies: number[] = [];
const statuses: Record<string, number> = {};
let errors = 0;
let outstanding = 0;

function send(dueAt: number): void {
  const body = nextBody();
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
  outstanding++;
  const req = request(
    {
      host: url.hostname,
      port: url.port,
      path: '/v1/events',
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-edgejail-site': site, 'x-edgejail-timestamp': ts, 'x-edgejail-signature': `sha256=${sig}` },
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        outstanding--;
        statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
        (dueAt < started + warmup * 1000 ? warmupLatencies : latencies).push(performance.now() - dueAt);
      });
    },
  );
  req.on('error', () => {
    outstanding--;
    errors++;
  });
  req.end(body);
}

// The warm-up ramps the rate up linearly from 0 (request n is due at √(2·W·n/rate) s), then
// the schedule holds the full rate for `duration` s.
const rampRequests = Math.round((rate * warmup) / 2);
const total = rampRequests + Math.round(rate * duration);
const dueOffsetMs = (n: number) => (n < rampRequests ? Math.sqrt((2 * warmup * n) / rate) : warmup + (n - rampRequests) / rate) * 1000;
const started = performance.now();
let sent = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    // Every request whose time has come leaves now, each timed from when it was due.
    while (sent < total && started + dueOffsetMs(sent) <= now) send(started + dueOffsetMs(sent++));
    if (sent < total) setTimeout(tick, 1); // a 1 ms tick, not a spin: the service needs the other core
    else resolve();
  };
  tick();
});
// Late answers still count: wait for them (bounded), so a stall is measured, not dropped.
const drainBy = performance.now() + 30_000;
while (outstanding > 0 && performance.now() < drainBy) await new Promise((r) => setTimeout(r, 10));
agent.destroy();

latencies.sort((a, b) => a - b);
warmupLatencies.sort((a, b) => a - b);
const quantile = (xs: number[], p: number) => (xs.length ? Math.round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]! * 100) / 100 : null);
const q = (p: number) => quantile(latencies, p);
const ok = Object.entries(statuses).filter(([s]) => s.startsWith('2')).reduce((n, [, c]) => n + c, 0);
process.stdout.write(
  `${JSON.stringify({ offered_rate: rate, sent, answered: latencies.length + warmupLatencies.length, ok, unanswered: outstanding, errors, p50_ms: q(0.5), p99_ms: q(0.99), warmup_seconds: warmup, warmup_p99_ms: quantile(warmupLatencies, 0.99), status_codes: statuses })}\n`,
);
