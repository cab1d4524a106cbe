// A fake of the parts of Cloudflare's API v4 that EdgeJail uses, on node:http, for tests,
// benchmarks and demos. The real `cloudflare` SDK talks to it through `baseURL`.
// README.md beside this file lists the endpoints, the faults and where each detail comes from.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessRuleStore, type AccessRule, type Scope } from './access-rules.ts';
import { CfError, failureEnvelope, ID_PATTERN, successEnvelope, type CfMessage, type Reply } from './envelope.ts';
import { formatIp, parseIp } from './ip.ts';
import { ListStore, type ListItem } from './lists.ts';
import { RulesetStore, type RulesetRule, type RulesetScope } from './rulesets.ts';

export type { AccessRule } from './access-rules.ts';
export type { ListItem } from './lists.ts';
export type { RulesetRule } from './rulesets.ts';

export interface FakeCloudflareOptions {
  host?: string;
  port?: number;
  token?: string;
  accountId?: string;
  zoneId?: string;
  rateLimit?: { limit: number; windowMs: number; blockMs: number };
  maxAccessRules?: number;
  maxListItems?: number;
  /** Not in Cloudflare's Free plan terms (1 list); default 1,000 as on Enterprise. */
  maxLists?: number;
  bulkOperationMs?: number;
  latencyMs?: number;
  /** WAF custom rules per phase entrypoint: 5 on Free, 20 Pro, 100 Business; default 1,000 (Enterprise). */
  maxCustomRules?: number;
}

export interface Fault {
  match?: { method?: string; pathIncludes?: string };
  /** `success_false` (an addition to the agreed list): 200 with `success:false`, nothing applied. */
  kind: 'rate_limit' | 'server_error' | 'slow' | 'drop_response' | 'bulk_operation_failed' | 'success_false';
  times?: number;
  retryAfterSeconds?: number;
  status?: number;
  delayMs?: number;
}

export interface FakeCloudflare {
  baseURL: string;
  url: string;
  token: string;
  accountId: string;
  zoneId: string;
  injectFault(f: Fault): void;
  clearFaults(): void;
  calls: Array<{ method: string; path: string; status: number; at: number }>;
  callCount(filter?: { method?: string; pathIncludes?: string }): number;
  isBlocked(ip: string): boolean;
  accessRules(scope?: 'account' | 'zone'): AccessRule[];
  listItems(listName: string): ListItem[];
  deleteAccessRuleByValue(value: string): boolean;
  /** The rules of the zone's (or account's) `http_request_firewall_custom` entrypoint, in order. */
  customRules(scope?: 'account' | 'zone'): RulesetRule[];
  /** Someone else's custom rule, added as the dashboard would (entrypoint created if absent). */
  addForeignCustomRule(input: { scope?: 'account' | 'zone'; action: string; expression: string; description?: string; enabled?: boolean }): RulesetRule;
  /** A person deleting a custom rule in the dashboard: true if it existed. */
  deleteCustomRuleByHand(ruleId: string): boolean;
  addForeignAccessRule(input: { scope: 'account' | 'zone'; mode: string; target: string; value: string; notes?: string }): AccessRule;
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
export const DEFAULT_ZONE_ID = 'fedcba9876543210fedcba9876543210';
export const ZONE_NAME = 'example.com';
const API_PREFIX = '/client/v4';
const MAX_BODY_BYTES = 20 * 1024 * 1024;

/** Cloudflare's published ranges (also in /work/shared/cloudflare/NOTES.md). */
export const CLOUDFLARE_IPS = {
  ipv4_cidrs: ['173.245.48.0/20', '103.21.244.0/22', '103.22.200.0/22', '103.31.4.0/22', '141.101.64.0/18', '108.162.192.0/18', '190.93.240.0/20', '188.114.96.0/20', '197.234.240.0/22', '198.41.128.0/17', '162.158.0.0/15', '104.16.0.0/13', '104.24.0.0/14', '172.64.0.0/13', '131.0.72.0/22'],
  ipv6_cidrs: ['2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32', '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32'],
};

// ---------------------------------------------------------------------------------------------
// Routing

interface Ctx {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  now: number;
}

type Auth = 'none' | 'token' | 'verify';
interface RouteDef { method: string; template: string; auth: Auth; handle: (ctx: Ctx) => Reply }
interface Route extends RouteDef { regex: RegExp }

function compile(def: RouteDef): Route {
  const pattern = def.template.replace(/\{(\w+)\}/g, (_, name: string) => `(?<${name}>[^/]+)`);
  return { ...def, regex: new RegExp(`^${pattern}$`) };
}

// Authentication answers as Cloudflare gives them (README "Sources"):
const MISSING_AUTH: CfMessage = { code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' };
const BAD_AUTH_FORMAT: CfMessage = { code: 6003, message: 'Invalid request headers', error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }] };
const AUTH_ERROR: CfMessage = { code: 10000, message: 'Authentication error' };
const INVALID_TOKEN: CfMessage = { code: 1000, message: 'Invalid API Token' };
const RATE_LIMITED: CfMessage = { code: 971, message: 'Please wait and consider throttling your request speed' };

function noRoute(path: string): CfError {
  return new CfError(400, [
    { code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` },
    { code: 7000, message: 'No route for that URI' },
  ]);
}

// ---------------------------------------------------------------------------------------------

export async function startFakeCloudflare(opts: FakeCloudflareOptions = {}): Promise<FakeCloudflare> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? 'test-token';
  const accountId = opts.accountId ?? DEFAULT_ACCOUNT_ID;
  const zoneId = opts.zoneId ?? DEFAULT_ZONE_ID;
  const rateLimit = opts.rateLimit ?? { limit: 1200, windowMs: 300_000, blockMs: 300_000 };
  const latencyMs = opts.latencyMs ?? 0;

  const accessRules = new AccessRuleStore({ accountId, zoneId, zoneName: ZONE_NAME, maxRules: opts.maxAccessRules ?? 50_000 });
  // The two stores refer to each other (lists count rules that reference them; rules must name lists
  // that exist), so the ruleset store is reached through a late-bound reference.
  let rulesets: RulesetStore | undefined;
  const lists = new ListStore({
    maxItems: opts.maxListItems ?? 10_000,
    maxLists: opts.maxLists ?? 1_000,
    bulkOperationMs: opts.bulkOperationMs ?? 50,
    referencingFilters: (name) => rulesets?.referencing(name) ?? 0,
  });
  rulesets = new RulesetStore({ listExists: (name) => lists.byName(name) !== undefined, maxCustomRules: opts.maxCustomRules ?? 1000 });
  const rs = rulesets;

  const calls: FakeCloudflare['calls'] = [];
  const routeCounts = new Map<string, number>();
  let faults: Array<{ fault: Fault; remaining: number }> = [];
  let windowStamps: number[] = [];
  let windowHead = 0;
  let blockedUntil = 0;

  const date = (ctx: Ctx) => new Date(ctx.now);
  const scopeOf = (p: Record<string, string>): Scope => (p.account_id !== undefined ? 'account' : 'zone');

  // ---- route table -------------------------------------------------------------------------
  const defs: RouteDef[] = [
    { method: 'GET', template: '/ips', auth: 'none', handle: () => ({ result: { ...CLOUDFLARE_IPS, etag: 'fake0000etag' } }) },
    { method: 'GET', template: '/user/tokens/verify', auth: 'verify', handle: () => verifyReply() },
    { method: 'GET', template: '/accounts/{account_id}/tokens/verify', auth: 'verify', handle: () => verifyReply() },
    {
      method: 'GET', template: '/accounts/{account_id}', auth: 'token',
      handle: () => ({ result: { id: accountId, name: 'EdgeJail test account', type: 'standard', settings: { enforce_twofactor: false }, created_on: '2020-01-01T00:00:00Z' } }),
    },
    {
      method: 'GET', template: '/zones/{zone_id}', auth: 'token',
      handle: () => ({
        result: {
          id: zoneId, name: ZONE_NAME, status: 'active', paused: false, type: 'full', development_mode: 0,
          name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
          account: { id: accountId, name: 'EdgeJail test account' },
          owner: { id: accountId, name: 'EdgeJail test account', type: 'organization' },
          meta: { cdn_only: false, custom_certificate_quota: 0, dns_only: false, foundation_dns: false, page_rule_quota: 3, phishing_detected: false, step: 2 },
          original_name_servers: null, original_registrar: null, original_dnshost: null,
          plan: { id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee', name: 'Free Website', legacy_id: 'free' },
          created_on: '2020-01-01T00:00:00Z', modified_on: '2020-01-01T00:00:00Z', activated_on: '2020-01-01T00:00:00Z',
        },
      }),
    },
  ];

  for (const owner of ['/accounts/{account_id}', '/zones/{zone_id}']) {
    const base = `${owner}/firewall/access_rules/rules`;
    defs.push(
      { method: 'GET', template: base, auth: 'token', handle: (c) => accessRules.list(scopeOf(c.params), c.query) },
      { method: 'POST', template: base, auth: 'token', handle: (c) => ({ result: accessRules.create(scopeOf(c.params), c.body, date(c)) }) },
      { method: 'GET', template: `${base}/{rule_id}`, auth: 'token', handle: (c) => ({ result: accessRules.get(scopeOf(c.params), c.params.rule_id!) }) },
      { method: 'PATCH', template: `${base}/{rule_id}`, auth: 'token', handle: (c) => ({ result: accessRules.edit(scopeOf(c.params), c.params.rule_id!, c.body, date(c)) }) },
      { method: 'DELETE', template: `${base}/{rule_id}`, auth: 'token', handle: (c) => ({ result: accessRules.delete(scopeOf(c.params), c.params.rule_id!) }) },
    );
    const rsBase = `${owner}/rulesets`;
    const rScope = (c: Ctx): RulesetScope => scopeOf(c.params);
    // dry_run=true validates without applying and answers `result: null` (OpenAPI rulesets_DryRun).
    const dry = (c: Ctx) => c.query.get('dry_run') === 'true';
    defs.push(
      { method: 'GET', template: `${rsBase}/phases/{phase}/entrypoint`, auth: 'token', handle: (c) => ({ result: rs.getEntrypoint(rScope(c), c.params.phase!) }) },
      { method: 'PUT', template: `${rsBase}/phases/{phase}/entrypoint`, auth: 'token', handle: (c) => ({ result: rs.putEntrypoint(rScope(c), c.params.phase!, c.body, date(c), dry(c)) }) },
      { method: 'GET', template: rsBase, auth: 'token', handle: (c) => ({ result: rs.list(rScope(c)), result_info: {} }) },
      { method: 'POST', template: rsBase, auth: 'token', handle: (c) => ({ result: rs.createRuleset(rScope(c), c.body, date(c), dry(c)) }) },
      { method: 'GET', template: `${rsBase}/{ruleset_id}`, auth: 'token', handle: (c) => ({ result: rs.get(rScope(c), c.params.ruleset_id!) }) },
      { method: 'POST', template: `${rsBase}/{ruleset_id}/rules`, auth: 'token', handle: (c) => ({ result: rs.addRule(rScope(c), c.params.ruleset_id!, c.body, date(c), dry(c)) }) },
      { method: 'PATCH', template: `${rsBase}/{ruleset_id}/rules/{rule_id}`, auth: 'token', handle: (c) => ({ result: rs.editRule(rScope(c), c.params.ruleset_id!, c.params.rule_id!, c.body, date(c), dry(c)) }) },
      { method: 'DELETE', template: `${rsBase}/{ruleset_id}/rules/{rule_id}`, auth: 'token', handle: (c) => ({ result: rs.deleteRule(rScope(c), c.params.ruleset_id!, c.params.rule_id!, date(c), dry(c)) }) },
    );
  }

  const lb = '/accounts/{account_id}/rules/lists';
  defs.push(
    { method: 'GET', template: lb, auth: 'token', handle: () => ({ result: lists.listAll() }) },
    { method: 'POST', template: lb, auth: 'token', handle: (c) => ({ result: lists.create(c.body, date(c)) }) },
    { method: 'GET', template: `${lb}/bulk_operations/{operation_id}`, auth: 'token', handle: (c) => ({ result: lists.operation(c.params.operation_id!) }) },
    { method: 'GET', template: `${lb}/{list_id}`, auth: 'token', handle: (c) => ({ result: lists.get(c.params.list_id!) }) },
    { method: 'PUT', template: `${lb}/{list_id}`, auth: 'token', handle: (c) => ({ result: lists.update(c.params.list_id!, c.body, date(c)) }) },
    { method: 'DELETE', template: `${lb}/{list_id}`, auth: 'token', handle: (c) => ({ result: lists.delete(c.params.list_id!) }) },
    { method: 'GET', template: `${lb}/{list_id}/items`, auth: 'token', handle: (c) => lists.listItems(c.params.list_id!, c.query) },
    { method: 'POST', template: `${lb}/{list_id}/items`, auth: 'token', handle: (c) => ({ result: lists.appendItems(c.params.list_id!, c.body, c.now) }) },
    { method: 'PUT', template: `${lb}/{list_id}/items`, auth: 'token', handle: (c) => ({ result: lists.replaceItems(c.params.list_id!, c.body, c.now) }) },
    { method: 'DELETE', template: `${lb}/{list_id}/items`, auth: 'token', handle: (c) => ({ result: lists.deleteItems(c.params.list_id!, c.body, c.now) }) },
    { method: 'GET', template: `${lb}/{list_id}/items/{item_id}`, auth: 'token', handle: (c) => ({ result: lists.getItem(c.params.list_id!, c.params.item_id!) }) },
  );
  const routes = defs.map(compile);

  function verifyReply(): Reply {
    return {
      result: { id: 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0', status: 'active' },
      messages: [{ code: 10000, message: 'This API Token is valid and active', type: null }],
    };
  }

  // ---- cross-cutting concerns ----------------------------------------------------------------

  function checkAuth(req: IncomingMessage, auth: Auth): void {
    if (auth === 'none') return;
    const header = req.headers.authorization;
    if (header === undefined) {
      if (req.headers['x-auth-key'] === undefined && req.headers['x-auth-email'] === undefined) throw new CfError(400, [MISSING_AUTH]);
      throw new CfError(auth === 'verify' ? 401 : 403, [auth === 'verify' ? INVALID_TOKEN : AUTH_ERROR]);
    }
    const m = /^Bearer ([A-Za-z0-9_-]+)$/.exec(header);
    if (!m) throw new CfError(400, [BAD_AUTH_FORMAT]);
    if (m[1] !== token) throw new CfError(auth === 'verify' ? 401 : 403, [auth === 'verify' ? INVALID_TOKEN : AUTH_ERROR]);
  }

  /** An id Cloudflare cannot route is a 400; one it can route but the token cannot see is a 403. */
  function checkOwner(params: Record<string, string>, path: string): void {
    for (const [key, mine] of [['account_id', accountId], ['zone_id', zoneId]] as const) {
      const given = params[key];
      if (given === undefined) continue;
      if (!ID_PATTERN.test(given)) throw noRoute(path);
      if (given !== mine) throw new CfError(403, [AUTH_ERROR]);
    }
  }

  /** Cloudflare's global limit: past `limit` calls in `windowMs`, every call is refused for `blockMs`. */
  function rateLimited(now: number): number | null {
    if (now < blockedUntil) return Math.ceil((blockedUntil - now) / 1000);
    windowStamps.push(now);
    while (windowHead < windowStamps.length && windowStamps[windowHead]! <= now - rateLimit.windowMs) windowHead++;
    if (windowHead > 4096) { windowStamps = windowStamps.slice(windowHead); windowHead = 0; }
    if (windowStamps.length - windowHead > rateLimit.limit) {
      blockedUntil = now + rateLimit.blockMs;
      return Math.ceil(rateLimit.blockMs / 1000);
    }
    return null;
  }

  function faultMatches(f: Fault, method: string, path: string): boolean {
    if (f.match?.method && f.match.method.toUpperCase() !== method) return false;
    if (f.match?.pathIncludes && !path.includes(f.match.pathIncludes)) return false;
    return true;
  }

  /** Takes one use of the first fault of one of `kinds` that matches this request. */
  function takeFault(kinds: Fault['kind'][], method: string, path: string): Fault | null {
    for (const entry of faults) {
      if (entry.remaining <= 0 || !kinds.includes(entry.fault.kind) || !faultMatches(entry.fault, method, path)) continue;
      entry.remaining--;
      faults = faults.filter((e) => e.remaining > 0);
      return entry.fault;
    }
    return null;
  }

  // ---- request handling ----------------------------------------------------------------------

  async function handleApi(req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams, raw: Buffer): Promise<void> {
    const now = Date.now();
    let status = 200;
    let headers: Record<string, string> = {};
    let body: unknown;
    let drop = false;
    // Resolve the route first so that every answer, faults included, is counted under it.
    const matching = routes.filter((r) => r.regex.test(path));
    const route = matching.find((r) => r.method === method);
    const routeKey = route ? `${method} ${route.template}` : `${method} (no route)`;

    const retryAfter = rateLimited(now);
    try {
      if (retryAfter !== null) throw new CfError(429, [RATE_LIMITED], { 'retry-after': String(retryAfter) });

      const fault = takeFault(['rate_limit', 'server_error', 'slow', 'drop_response', 'success_false'], method, path);
      if (fault?.kind === 'rate_limit') {
        throw new CfError(429, [RATE_LIMITED], { 'retry-after': String(fault.retryAfterSeconds ?? 1) });
      }
      if (fault?.kind === 'server_error') {
        throw new CfError(fault.status ?? 500, [{ code: 10001, message: 'Internal server error (injected fault)' }]);
      }
      if (fault?.kind === 'success_false') {
        // The SDK never reads `success`: a client must check it itself (NOTES).
        throw new CfError(200, [{ code: 10001, message: 'Internal error (injected fault: 200 with success:false)' }]);
      }
      if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 1000);
      drop = fault?.kind === 'drop_response';

      if (!route) {
        if (matching.length) throw new CfError(405, [{ code: 7001, message: `${method} method not allowed for this endpoint` }]);
        throw noRoute(`${API_PREFIX}${path}`);
      }
      const params = { ...(route.regex.exec(path)!.groups ?? {}) };
      checkAuth(req, route.auth);
      checkOwner(params, `${API_PREFIX}${path}`);

      let parsed: unknown;
      if (raw.length > 0) {
        try { parsed = JSON.parse(raw.toString('utf8')); } catch { throw new CfError(400, [{ code: 6007, message: 'Malformed JSON in request body' }]); }
      }
      if (route.template.endsWith('/items') && method !== 'GET') {
        if (takeFault(['bulk_operation_failed'], method, path)) lists.failNextBulkOperation('bulk operation failed (injected fault)');
      }
      lists.settle(now);
      const reply = route.handle({ method, params, query, body: parsed, now });
      status = reply.status ?? 200;
      body = successEnvelope(reply);
    } catch (err) {
      if (!(err instanceof CfError)) throw err;
      status = err.status;
      headers = err.headers;
      body = failureEnvelope(err.errors);
    }

    routeCounts.set(routeKey, (routeCounts.get(routeKey) ?? 0) + 1);
    calls.push({ method, path, status: drop ? 0 : status, at: now });
    if (latencyMs > 0) await sleep(latencyMs);
    if (drop) {
      // The write is done; the client sees its connection die with no answer, like a lost response.
      res.socket?.destroy();
      return;
    }
    send(res, status, body, headers);
  }

  function handleControl(res: ServerResponse, method: string, path: string, query: URLSearchParams, raw: Buffer): void {
    const json = (status: number, body: unknown) => send(res, status, body, {});
    const parseBody = (): unknown => {
      try { return raw.length ? JSON.parse(raw.toString('utf8')) : undefined; } catch { return undefined; }
    };
    if (method === 'GET' && path === '/__fake/blocked') {
      const ip = query.get('ip');
      if (!ip || !parseIp(ip)) return json(400, { error: 'query parameter ip must be an IPv4 or IPv6 address' });
      return json(200, { blocked: fake.isBlocked(ip) });
    }
    if (method === 'GET' && path === '/__fake/calls') {
      return json(200, { total: calls.length, byRoute: Object.fromEntries([...routeCounts].sort(([a], [b]) => a.localeCompare(b))) });
    }
    if (path === '/__fake/faults' && method === 'POST') {
      const f = parseBody() as Fault | undefined;
      const kinds: Fault['kind'][] = ['rate_limit', 'server_error', 'slow', 'drop_response', 'bulk_operation_failed', 'success_false'];
      if (!f || typeof f !== 'object' || !kinds.includes(f.kind)) return json(400, { error: `body must be a Fault with kind one of ${kinds.join(', ')}` });
      fake.injectFault(f);
      return json(200, { ok: true });
    }
    if (path === '/__fake/faults' && method === 'DELETE') {
      fake.clearFaults();
      return json(200, { ok: true });
    }
    if (method === 'GET' && path === '/__fake/state') {
      lists.settle(Date.now());
      return json(200, {
        accountId, zoneId,
        accessRules: { account: accessRules.all('account'), zone: accessRules.all('zone') },
        lists: lists.state(),
        rulesets: rs.state(),
      });
    }
    if (method === 'POST' && path === '/__fake/reset') {
      fake.reset();
      return json(200, { ok: true });
    }
    json(404, { error: `no control endpoint ${method} ${path}` });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true; else chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = (req.method ?? 'GET').toUpperCase();
      const raw = Buffer.concat(chunks);
      if (tooLarge) return send(res, 413, failureEnvelope([{ code: 10026, message: `request body larger than ${MAX_BODY_BYTES} bytes` }]), {});
      if (url.pathname.startsWith('/__fake/')) return handleControl(res, method, url.pathname, url.searchParams, raw);
      if (!url.pathname.startsWith(`${API_PREFIX}/`)) return send(res, 404, failureEnvelope([{ code: 7000, message: 'No route for that URI' }]), {});
      const path = url.pathname.slice(API_PREFIX.length);
      handleApi(req, res, method, path, url.searchParams, raw).catch((err: unknown) => {
        // A bug in the fake must show as a 500 the test can see, never as a hang.
        send(res, 500, failureEnvelope([{ code: 10001, message: `fake-cloudflare bug: ${String(err)}` }]), {});
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const fake: FakeCloudflare = {
    baseURL: `${url}${API_PREFIX}`,
    url,
    token,
    accountId,
    zoneId,
    calls,
    injectFault(f) {
      faults.push({ fault: { ...f }, remaining: f.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    callCount(filter) {
      return calls.filter((c) => (!filter?.method || c.method === filter.method.toUpperCase())
        && (!filter?.pathIncludes || c.path.includes(filter.pathIncludes))).length;
    },
    isBlocked(ip) {
      const parsed = parseIp(ip.trim());
      if (!parsed) return false;
      if (accessRules.isBlocked(parsed, formatIp(parsed))) return true;
      lists.settle(Date.now());
      for (const name of rs.blockingLists()) if (lists.covers(name, parsed)) return true;
      return false;
    },
    accessRules(scope) {
      return accessRules.all(scope);
    },
    listItems(listName) {
      lists.settle(Date.now());
      return lists.itemsOf(listName);
    },
    deleteAccessRuleByValue(value) {
      return accessRules.deleteByValue(value);
    },
    addForeignAccessRule(input) {
      return accessRules.addForeign(input, new Date());
    },
    customRules(scope = 'zone') {
      return rs.customRules(scope);
    },
    addForeignCustomRule(input) {
      const scope = input.scope ?? 'zone';
      const phase = 'http_request_firewall_custom';
      const rule = { action: input.action, expression: input.expression, description: input.description ?? '', enabled: input.enabled ?? true };
      const now = new Date();
      const existing = rs.customRules(scope).length || rs.state().some((r) => r.scope === scope && r.phase === phase && r.kind !== 'custom');
      const ruleset = existing
        ? rs.addRule(scope, rs.getEntrypoint(scope, phase).id, rule, now)!
        : rs.putEntrypoint(scope, phase, { rules: [rule] }, now)!;
      return ruleset.rules.at(-1)!;
    },
    deleteCustomRuleByHand(ruleId) {
      return rs.deleteRuleByHand(ruleId, new Date());
    },
    reset() {
      accessRules.clear();
      lists.clear();
      rs.clear();
      faults = [];
      calls.length = 0;
      routeCounts.clear();
      windowStamps = [];
      windowHead = 0;
      blockedUntil = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return fake;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
