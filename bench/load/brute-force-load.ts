// A password-guessing botnet in its own process: each of --ips bots has its own address (the
// X-Test-Client-IP header the edge reads) and its own keep-alive connection, and POSTs wrong
// passwords to wp-login.php one after another for --duration seconds, as fast as it is
// answered. Prints one JSON line: requests, per second, and who answered them.
import { Agent, request } from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const url = new URL(String(args.url));
const ips = String(args.ips ?? '').split(',').filter(Boolean);
const duration = Number(args.duration ?? 60) * 1000;
const username = String(args.user ?? 'alice');
if (!ips.length) {
  console.error('usage: brute-force-load.ts --url=EDGE --ips=A,B,... [--duration=60] [--user=alice]');
  process.exit(2);
}

const counts = { requests: 0, edge_403: 0, origin_403: 0, login_failed_200: 0, other: 0, errors: 0 };

function once(agent: Agent, ip: string, n: number): Promise<void> {
  const body = `log=${encodeURIComponent(username)}&pwd=guess-${n}&wp-submit=Log+In`;
  return new Promise((resolve) => {
    const req = request(
      { host: url.hostname, port: url.port, path: '/wp-login.php', method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'x-test-client-ip': ip } },
      (res) => {
        res.resume();
        res.on('end', () => {
          counts.requests++;
          if (res.statusCode === 403 && res.headers['x-test-edge'] === 'blocked') counts.edge_403++;
          else if (res.statusCode === 403) counts.origin_403++;
          else if (res.statusCode === 200) counts.login_failed_200++;
          else counts.other++;
          resolve();
        });
      },
    );
    req.on('error', () => {
      counts.errors++;
      resolve();
    });
    req.end(body);
  });
}

const started = Date.now();
await Promise.all(
  ips.map(async (ip) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let n = 0; Date.now() - started < duration; n++) await once(agent, ip, n);
    agent.destroy();
  }),
);
const seconds = (Date.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ ...counts, seconds, requests_per_s: counts.requests / seconds })}\n`);
