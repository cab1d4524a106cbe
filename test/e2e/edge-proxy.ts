// A stand-in for Cloudflare's edge in front of the origin: it refuses (403) every client the
// fake Cloudflare API currently blocks, exactly as the real edge does once a rule or list item
// exists, and forwards everyone else to the origin with CF-Connecting-IP, from an address the
// plugin is configured to trust as Cloudflare.
//
// The client's address is the X-Test-Client-IP header when present (the test's attackers all
// live on this one machine; only the edge reads that header and it never reaches the origin),
// otherwise the socket's peer address.
//
// As a process (the benchmark): node --import tsx test/e2e/edge-proxy.ts --origin=http://127.0.0.1:8080
//   --fake=http://127.0.0.1:8788 [--port=0] [--source=127.0.0.2] [--shield=<site hostname> --clearance=<cookie,...>]; prints {"url": ...} once listening,
//   and the counters as JSON on SIGUSR2 and at exit.
import { createServer, request, Agent, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { shieldVerdict, type EdgeRule } from './shield-match.ts';

export const CLIENT_IP_HEADER = 'x-test-client-ip';
/** Marks answers the edge gave itself, so a test can tell them from the origin's. */
export const EDGE_BLOCK_HEADER = 'x-test-edge';
/** The loopback address the edge connects to the origin from; the plugin trusts it as Cloudflare. */
export const DEFAULT_EDGE_SOURCE = '127.0.0.2';

export type BlockCheck = (ip: string) => boolean | Promise<boolean>;
/** The zone's custom rules in evaluation order (the fake's state), for the login shield. */
export type RuleSource = () => EdgeRule[] | Promise<EdgeRule[]>;

/** The cookie a visitor holds once it has solved a challenge (Cloudflare's name for it). */
export const CLEARANCE_COOKIE = 'cf_clearance';

export interface EdgeProxyOptions {
  /** The origin, e.g. http://127.0.0.1:8080. */
  origin: string;
  isBlocked: BlockCheck;
  host?: string;
  port?: number;
  /** Local address of the connections to the origin (what the origin sees as REMOTE_ADDR). */
  sourceAddress?: string;
  /** The zone's custom rules: requests matching an active login shield rule are challenged or blocked. */
  shieldRules?: RuleSource;
  /** Clearance cookie values that pass a challenge (the test hands one to its human only). */
  clearances?: ReadonlySet<string>;
  /**
   * The hostname every request to this edge is addressed to (http.host): on loopback the Host
   * header is 127.0.0.1:<port>, while DNS would send only the site's own name here.
   */
  siteHost?: string;
  /** Hears once about each rule expression the edge cannot evaluate. */
  onUnknownRule?: (rule: EdgeRule) => void;
  /** Called as each request is let through, with the CF-Ray id the origin will log. */
  onForward?: (clientIp: string, ray: string) => void;
}

export interface EdgeCounters {
  requests: number;
  blocked: number;
  /** Answered with a challenge (a login shield rule), or blocked by one. */
  challenged: number;
  shieldBlocked: number;
  forwarded: number;
  errors: number;
}

export interface EdgeProxy {
  url: string;
  sourceAddress: string;
  counters: EdgeCounters;
  close(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 7.6.1) and the ones the edge itself owns.
const DROPPED_REQUEST_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', CLIENT_IP_HEADER, 'cf-connecting-ip', 'x-forwarded-for', 'x-forwarded-proto', 'cf-ray']);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'trailer']);

/** Reads the zone's custom rules from the fake's control API (the edge as its own process). */
export function shieldRulesFromFake(fakeUrl: string): RuleSource {
  return async () => {
    const res = await fetch(`${fakeUrl}/__fake/state`);
    if (!res.ok) throw new Error(`fake Cloudflare answered ${res.status} to /__fake/state`);
    const state = (await res.json()) as { rulesets: Array<{ scope: string; phase: string; kind: string; rules?: EdgeRule[] }> };
    return state.rulesets.filter((r) => r.scope === 'zone' && r.phase === 'http_request_firewall_custom' && r.kind === 'zone').flatMap((r) => r.rules ?? []);
  };
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

/** Asks the fake's control API whether the edge would block an address. */
export function blockCheckFromFake(fakeUrl: string): BlockCheck {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return (ip) =>
    new Promise((resolve, reject) => {
      const req = request(`${fakeUrl}/__fake/blocked?ip=${encodeURIComponent(ip)}`, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`fake Cloudflare answered ${res.statusCode} to /__fake/blocked: ${body}`));
          resolve((JSON.parse(body) as { blocked: boolean }).blocked);
        });
      });
      req.on('error', reject);
      req.end();
    });
}

function clientIpOf(req: IncomingMessage): string | null {
  const header = req.headers[CLIENT_IP_HEADER];
  const claimed = Array.isArray(header) ? header[0] : header;
  if (claimed !== undefined) return isIP(claimed.trim()) ? claimed.trim() : null;
  const peer = req.socket.remoteAddress ?? '';
  return peer.startsWith('::ffff:') ? peer.slice(7) : peer || null;
}

function answer(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', [EDGE_BLOCK_HEADER]: status === 403 ? 'blocked' : 'error', ...extra });
  res.end(text);
}

export async function startEdgeProxy(options: EdgeProxyOptions): Promise<EdgeProxy> {
  const origin = new URL(options.origin);
  const sourceAddress = options.sourceAddress ?? DEFAULT_EDGE_SOURCE;
  const agent = new Agent({ keepAlive: true, maxSockets: 256, localAddress: sourceAddress });
  const counters: EdgeCounters = { requests: 0, blocked: 0, challenged: 0, shieldBlocked: 0, forwarded: 0, errors: 0 };
  const reported = new Set<string>();
  const unknownRule = (rule: EdgeRule) => {
    if (reported.has(rule.id)) return;
    reported.add(rule.id);
    (options.onUnknownRule ?? ((r: EdgeRule) => console.warn(`edge: rule ${r.id} not evaluated (${r.action}): ${r.expression}`)))(rule);
  };
  let rays = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.requests++;
    const client = clientIpOf(req);
    if (client === null) return answer(res, 400, `${CLIENT_IP_HEADER} must be an IP address`);
    if (await options.isBlocked(client)) {
      counters.blocked++;
      req.resume();
      return answer(res, 403, `Sorry, you have been blocked (edge): ${client}`);
    }
    if (options.shieldRules) {
      const host = (options.siteHost ?? (req.headers.host ?? '').replace(/:\d+$/, '')).toLowerCase();
      const verdict = shieldVerdict(await options.shieldRules(), { host, method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]! }, unknownRule);
      const cleared = verdict?.kind === 'challenge' && options.clearances?.has(cookieValue(req, CLEARANCE_COOKIE) ?? '');
      if (verdict && !cleared) {
        req.resume();
        if (verdict.kind === 'block') {
          counters.shieldBlocked++;
          return answer(res, 403, `Sorry, you have been blocked (edge rule ${verdict.ruleId})`);
        }
        counters.challenged++;
        // What Cloudflare sends instead of the page: a challenge the browser must solve first.
        return answer(res, 403, `Just a moment... (${verdict.action}, edge rule ${verdict.ruleId})`, { 'cf-mitigated': 'challenge' });
      }
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !DROPPED_REQUEST_HEADERS.has(name)) headers[name] = value;
    }
    const ray = `${(++rays).toString(16).padStart(16, '0')}-EJT`;
    headers['cf-connecting-ip'] = client;
    headers['cf-ray'] = ray;
    headers['x-forwarded-for'] = client;
    headers['x-forwarded-proto'] = 'http';
    const upstream = request(
      { host: origin.hostname, port: origin.port, method: req.method, path: req.url, headers, agent },
      (up) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(up.headers)) {
          if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) out[name] = value;
        }
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      counters.errors++;
      if (!res.headersSent) answer(res, 502, `origin unreachable: ${error.message}`);
      else res.destroy();
    });
    counters.forwarded++;
    options.onForward?.(client, ray);
    req.pipe(upstream);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      counters.errors++;
      if (!res.headersSent) answer(res, 502, `edge error: ${String(error)}`);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    sourceAddress,
    counters,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
  if (!args.origin || !args.fake) {
    console.error('usage: edge-proxy.ts --origin=URL --fake=URL [--port=N] [--host=H] [--source=ADDR]');
    process.exit(2);
  }
  const edge = await startEdgeProxy({
    origin: args.origin,
    isBlocked: blockCheckFromFake(args.fake),
    ...(args.shield ? { shieldRules: shieldRulesFromFake(args.fake), siteHost: args.shield, clearances: new Set((args.clearance ?? '').split(',').filter(Boolean)) } : {}),
    port: Number(args.port ?? 0),
    host: args.host ?? '127.0.0.1',
    sourceAddress: args.source ?? DEFAULT_EDGE_SOURCE,
  });
  console.log(JSON.stringify({ url: edge.url, sourceAddress: edge.sourceAddress }));
  process.on('SIGUSR2', () => console.log(JSON.stringify({ counters: edge.counters })));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(JSON.stringify({ counters: edge.counters }));
      void edge.close().then(() => process.exit(0));
    });
  }
}
