// The night's attacker in its own process (the bench's own process hosts the edge and the
// fake Cloudflare): POSTs wrong passwords to wp-login.php through the edge, from bench
// addresses (X-Test-Client-IP), for at most --duration seconds. Kinds:
//   seed         --ips addresses, each with --concurrency/ips connections, hammering until the time is up
//   botnet       --ips bots × --tries: each bot sends its tries one after another, --concurrency bots at once
//   distributed  the same with 2 tries per bot, under any per-IP threshold
// A bot the edge answered (blocked or challenged) waits --edge-backoff ms (1000) before its next
// try: Cloudflare absorbs such answers, while our stand-in edge shares this machine's cores with
// the origin and the visitor; a request the edge refuses costs the origin nothing either way.
// Prints one JSON line: requests, and who answered them.
import { Agent, request } from 'node:http';
import { benchIp } from '../lib/addresses.ts';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const url = new URL(String(args.url));
const kind = String(args.kind);
const ips = Number(args.ips);
const firstIp = Number(args['first-ip'] ?? 0);
const tries = Number(args.tries ?? 0);
const concurrency = Number(args.concurrency);
const durationMs = Number(args.duration) * 1000;
const timeoutMs = Number(args['timeout'] ?? 30) * 1000;
const edgeBackoffMs = Number(args['edge-backoff'] ?? 1000);
const USERS = ['admin', 'administrator', String(args.user ?? 'alice'), 'test'];
if (!['seed', 'botnet', 'distributed'].includes(kind) || !(ips > 0) || !(concurrency > 0) || !(durationMs > 0) || (kind !== 'seed' && !(tries > 0))) {
  console.error('usage: night-attack.ts --url=EDGE --kind=seed|botnet|distributed --ips=N [--tries=N] --concurrency=N --duration=S [--first-ip=N] [--user=U]');
  process.exit(2);
}

const counts = { requests: 0, edge_403: 0, edge_challenged: 0, origin_403: 0, login_failed_200: 0, server_error: 0, other: 0, errors: 0, timeouts: 0, ips_done: 0 };
const started = Date.now();
const timeLeft = () => Date.now() - started < durationMs;

function attempt(agent: Agent, ip: string, n: number): Promise<void> {
  return send(agent, ip, n).then((byEdge) => (byEdge ? new Promise((r) => setTimeout(r, edgeBackoffMs)) : undefined));
}

/** Resolves true when the edge answered (the origin never saw the request). */
function send(agent: Agent, ip: string, n: number): Promise<boolean> {
  const body = `log=${encodeURIComponent(USERS[n % USERS.length]!)}&pwd=guess-${n}-${ip}&wp-submit=Log+In`;
  return new Promise((resolve) => {
    const req = request(
      { host: url.hostname, port: url.port, path: '/wp-login.php', method: 'POST', agent, timeout: timeoutMs, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'x-test-client-ip': ip } },
      (res) => {
        res.resume();
        res.on('end', () => {
          counts.requests++;
          const byEdge = res.statusCode === 403 && (res.headers['cf-mitigated'] === 'challenge' || res.headers['x-test-edge'] === 'blocked');
          if (res.statusCode === 403 && res.headers['cf-mitigated'] === 'challenge') counts.edge_challenged++;
          else if (res.statusCode === 403 && res.headers['x-test-edge'] === 'blocked') counts.edge_403++;
          else if (res.statusCode === 403) counts.origin_403++;
          else if (res.statusCode === 200) counts.login_failed_200++;
          else if ((res.statusCode ?? 0) >= 500) counts.server_error++;
          else counts.other++;
          resolve(byEdge);
        });
      },
    );
    req.on('timeout', () => {
      counts.timeouts++;
      req.destroy();
    });
    req.on('error', () => {
      counts.errors++;
      resolve(false);
    });
    req.end(body);
  });
}

if (kind === 'seed') {
  // A few addresses, each running an attack tool with many threads.
  const perIp = Math.max(1, Math.round(concurrency / ips));
  await Promise.all(
    Array.from({ length: ips }, async (_, i) => {
      const ip = benchIp(firstIp + i);
      const agent = new Agent({ keepAlive: true, maxSockets: perIp });
      let n = 0;
      await Promise.all(Array.from({ length: perIp }, async () => {
        while (timeLeft()) await attempt(agent, ip, n++);
      }));
      agent.destroy();
    }),
  );
} else {
  let nextBot = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (timeLeft() && nextBot < ips) {
        const ip = benchIp(firstIp + nextBot++);
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        for (let t = 0; t < tries && timeLeft(); t++) await attempt(agent, ip, t);
        agent.destroy();
        counts.ips_done++;
      }
    }),
  );
}
const seconds = (Date.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ ...counts, seconds })}\n`);
