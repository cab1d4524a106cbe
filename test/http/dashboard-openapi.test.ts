// The OpenAPI document is the CI check that every route has a schema. @fastify/swagger builds
// it from the routes' own zod schemas; this test holds it to them: every route the app
// registers is in it (and nothing else), every $ref resolves, its request schemas accept and
// refuse what the handlers' zod schemas do, and real answers of the routes match both the
// route's zod schema and the served document's JSON Schema for their status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { z } from 'zod';
import type { RegisteredRoute } from '../../server/openapi/plugin.ts';
import { adminHeaders, attempt, postEvents, signedHeaders, startService, withAdminListener } from '../support/service.ts';

/** Pages for people, not programs: HTML and its assets, kept out of the document. */
const PAGES = ['/dashboard', '/docs'];
const isPage = (url: string) => PAGES.some((p) => url === p || url.startsWith(`${p}/`));

let svc: Awaited<ReturnType<typeof startService>>;
let doc: any;
let routes: RegisteredRoute[];
before(async () => {
  // The document's JSON Schemas are compiled before the service under test starts: a second
  // or so of compiling blocks the event loop, which a running service would shed as overload.
  const first = await startService();
  const res = await first.app.inject({ method: 'GET', url: '/openapi.json' });
  await first.close();
  assert.equal(res.statusCode, 200);
  doc = res.json();
  compileDocument();
  svc = await startService();
  routes = svc.app.registeredRoutes();
});
after(async () => svc.close());

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const operation = (method: string, url: string) => doc.paths[openApiPath(url)]?.[method.toLowerCase()];
const route = (method: string, url: string) => {
  const found = routes.find((r) => r.method === method && r.url === url);
  assert.ok(found, `no route ${method} ${url}`);
  return found;
};

// JSON Schema 2020-12 (OpenAPI 3.1's dialect), with each component under its own URI so a
// schema taken out of the document still resolves its $refs.
const COMPONENT_BASE = 'https://edgejail.invalid/components/';
const rebase = (schema: unknown) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${COMPONENT_BASE}`));
const validators = new Map<unknown, ValidateFunction>();

/** A validator for every schema object in the document's operations, by that object. */
function compileDocument(): void {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  for (const [name, component] of Object.entries(doc.components.schemas)) ajv.addSchema({ ...rebase(component), $id: `${COMPONENT_BASE}${name}` });
  for (const op of Object.values(doc.paths).flatMap((ops: any) => Object.values(ops)) as any[]) {
    const schemas = [
      op.requestBody?.content['application/json'].schema,
      querySchema(op),
      ...Object.values(op.responses).map((r: any) => r.content?.['application/json']?.schema),
    ];
    for (const schema of schemas.filter(Boolean)) validators.set(schema, ajv.compile(rebase(schema)));
  }
}

function documentValidator(schema: unknown): ValidateFunction {
  const validate = validators.get(schema);
  assert.ok(validate, 'a schema of the document');
  return validate;
}

/** The query string as the document describes it: one object of its query parameters (the same object each time). */
const querySchemas = new WeakMap<object, object>();
function querySchema(op: any) {
  const known = querySchemas.get(op);
  if (known) return known;
  const query = (op.parameters ?? []).filter((p: any) => p.in === 'query');
  const schema = { type: 'object', properties: Object.fromEntries(query.map((p: any) => [p.name, p.schema])), required: query.filter((p: any) => p.required).map((p: any) => p.name) };
  querySchemas.set(op, schema);
  return schema;
}

const zodOf = (part: unknown) => part as z.ZodType;

test('every route the app registers has a schema and an OpenAPI entry, and every entry has a route', () => {
  assert.ok(routes.some((r) => r.url === '/v1/events'), 'the route recorder saw the routes');
  const api = routes.filter((r) => !isPage(r.url));
  assert.deepEqual(api.filter((r) => !r.schema).map((r) => `${r.method} ${r.url}`), [], 'give these routes a schema (summary, zod body/query/params, responses)');
  assert.deepEqual(api.filter((r) => !operation(r.method, r.url)).map((r) => `${r.method} ${r.url}`), [], 'registered but not in the document');
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`));
  const stale = documented.filter((d) => !api.some((r) => `${r.method} ${openApiPath(r.url)}` === d));
  assert.deepEqual(stale, [], 'documented but not registered');
  assert.ok(!documented.some((d) => isPage(d.split(' ')[1]!)), 'pages stay out of the document');

  for (const r of api) {
    const op = operation(r.method, r.url);
    const schema = r.schema as { body?: unknown; querystring?: unknown; params?: unknown; response: Record<string, { content: Record<string, unknown> }> };
    assert.equal(Boolean(op.requestBody), Boolean(schema.body), `${r.method} ${r.url}: a request body in the document iff the route has one`);
    if (schema.querystring) assert.ok(op.parameters?.some((p: any) => p.in === 'query'), `${r.method} ${r.url} documents its query`);
    for (const name of [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1])) {
      assert.ok(op.parameters?.some((p: any) => p.in === 'path' && p.name === name), `${r.method} ${r.url} documents :${name}`);
    }
    for (const [status, answer] of Object.entries(schema.response)) {
      for (const type of Object.keys(answer.content)) assert.ok(op.responses[status]?.content?.[type]?.schema, `${r.method} ${r.url} → ${status} ${type} is in the document`);
    }
    if (r.url.startsWith('/v1/')) {
      assert.ok(Object.keys(op.responses).some((s) => s.startsWith('2') && op.responses[s].content), `${r.method} ${r.url} documents its success body`);
    }
  }
});

test('the document is OpenAPI 3.1, every $ref resolves, and no component goes unused', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof doc.info.version, 'string');
  const refs = new Set<string>();
  (function walk(node: unknown) {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) k === '$ref' ? refs.add(v as string) : walk(v);
    }
  })(doc);
  assert.ok(refs.size > 20, `${refs.size} distinct $refs`);
  for (const ref of refs) assert.ok(doc.components.schemas[ref.replace('#/components/schemas/', '')], `dangling ${ref}`);
  for (const name of Object.keys(doc.components.schemas)) assert.ok(refs.has(`#/components/schemas/${name}`), `component ${name} is never referenced`);
  const ids = Object.values(doc.paths).flatMap((ops: any) => Object.values(ops).map((op: any) => op.operationId));
  assert.ok(ids.every((id) => typeof id === 'string'), 'every operation has an operationId');
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  // Request bodies are documented from zod's input side: a duration may be "1h" or 3600.
  assert.deepEqual(doc.components.schemas.ManualBanInput.properties.duration.type, ['number', 'string']);
  assert.deepEqual(doc.components.schemas.ManualBanInput.required, ['ip']);
  assert.deepEqual(doc.paths['/v1/bans'].post.security, [{ adminToken: [] }]);
  assert.deepEqual(doc.paths['/v1/events'].post.security, [{ siteId: [], siteTimestamp: [], siteSignature: [] }]);
  assert.deepEqual(doc.paths['/healthz'].get.security, []);
  assert.deepEqual(doc.paths['/v1/bans/{ip}'].delete.parameters.map((p: any) => `${p.in} ${p.name}`).sort(), ['path ip', 'query jail']);
  assert.deepEqual(doc.paths['/v1/bans'].get.parameters.map((p: any) => [p.name, p.in, p.schema.enum]), [['state', 'query', ['active', 'all']]]);
  assert.equal(doc.paths['/v1/bans'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/ManualBanInput');
  assert.equal(doc.paths['/v1/bans'].get.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/BanList');
});

/** Bodies and queries each input route must take or refuse, in zod and in the document alike. */
const INPUT_SAMPLES: Record<string, { part: 'body' | 'querystring'; good: unknown[]; bad: unknown[] }> = {
  'POST /v1/events': {
    part: 'body',
    good: [{ events: [attempt('203.0.113.5')] }, { events: [], unban_cursor: 0 }, { events: [{ ...attempt('203.0.113.5'), weight: 3 }] }],
    bad: [{}, { events: 'x' }, { events: [{ ...attempt('203.0.113.5'), type: 'nope' }] }, { events: [{ ...attempt('203.0.113.5'), id: 'not-a-uuid' }] }, { events: [attempt('203.0.113.5')], extra: 1 }, { events: [{ ...attempt('203.0.113.5'), weight: 0 }] }],
  },
  'POST /v1/bans': {
    part: 'body',
    good: [{ ip: '198.51.100.5' }, { ip: '198.51.100.5', duration: '1h' }, { ip: '198.51.100.5', duration: 3600, reason: 'seen in the log' }],
    bad: [{}, { ip: 5 }, { ip: '198.51.100.5', bogus: 1 }, { ip: '1'.repeat(65) }, { ip: '198.51.100.5', reason: '' }, { ip: 'not an ip' }],
  },
  'POST /v1/allowlist': {
    part: 'body',
    good: [{ cidr: '192.0.2.0/24' }, { cidr: '192.0.2.0/24', note: null, force: true }],
    bad: [{}, { cidr: '192.0.2.0/24', force: 'yes' }, { cidr: 'x y' }, { cidr: '192.0.2.0/24', note: 'n'.repeat(501) }],
  },
  'POST /v1/sites/:site/shield': {
    part: 'body',
    good: [{}, { duration: '1h' }, { reason: 'attack on the login page' }],
    bad: [{ reason: 5 }, { other: 1 }, { reason: '' }],
  },
  'GET /v1/bans': { part: 'querystring', good: [{}, { state: 'all' }], bad: [{ state: 'maybe' }] },
  'DELETE /v1/bans/:ip': { part: 'querystring', good: [{}, { jail: 'fail2ban:sshd' }], bad: [{ jail: 'sshd' }] },
};

test("the document's request schemas take and refuse what the handlers' zod schemas do", () => {
  const withInput = routes.filter((r) => (r.schema as { body?: unknown } | undefined)?.body || (r.schema as { querystring?: unknown } | undefined)?.querystring);
  assert.deepEqual(withInput.map((r) => `${r.method} ${r.url}`).filter((k) => !INPUT_SAMPLES[k]), [], 'add samples for these routes');
  for (const [key, { part, good, bad }] of Object.entries(INPUT_SAMPLES)) {
    const [method, url] = key.split(' ') as [string, string];
    const schema = zodOf((route(method, url).schema as Record<string, unknown>)[part]);
    const op = operation(method, url);
    const validate = documentValidator(part === 'body' ? op.requestBody.content['application/json'].schema : querySchema(op));
    for (const sample of good) {
      assert.ok(schema.safeParse(sample).success, `${key}: zod takes ${JSON.stringify(sample).slice(0, 80)}`);
      assert.ok(validate(sample), `${key}: the document takes ${JSON.stringify(sample).slice(0, 80)}: ${JSON.stringify(validate.errors)}`);
    }
    for (const sample of bad) {
      assert.ok(!schema.safeParse(sample).success, `${key}: zod refuses ${JSON.stringify(sample).slice(0, 80)}`);
      assert.ok(!validate(sample), `${key}: the document refuses ${JSON.stringify(sample).slice(0, 80)}`);
    }
  }
});

/** The answer matches the zod schema its route names for the status, and the served document's schema for it. */
function conforms(method: string, url: string, res: { statusCode: number; json: () => unknown; body: string }) {
  const where = `${method} ${url} → ${res.statusCode}`;
  const responses = (route(method, url).schema as { response: Record<string, { content: Record<string, { schema: z.ZodType }> }> }).response;
  const own = responses[res.statusCode]?.content['application/json']?.schema;
  assert.ok(own, `${where}: the route names no schema for this status: ${res.body.slice(0, 200)}`);
  const parsed = own.safeParse(res.json());
  assert.ok(parsed.success, `${where} does not match its zod schema: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}\n${res.body.slice(0, 500)}`);
  const documented = operation(method, url)?.responses[res.statusCode]?.content?.['application/json']?.schema;
  assert.ok(documented, `${where} is not in the document`);
  const validate = documentValidator(documented);
  assert.ok(validate(res.json()), `${where} does not match the document: ${JSON.stringify(validate.errors?.slice(0, 3))}\n${res.body.slice(0, 500)}`);
}

test('real answers of every documented JSON route match their zod schemas and the served document', async () => {
  const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers = adminHeaders) =>
    svc.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

  const events = await postEvents(svc.app, svc.site, Array.from({ length: 5 }, () => attempt('203.0.113.90')));
  conforms('POST', '/v1/events', events);
  conforms('POST', '/v1/events', await postEvents(svc.app, svc.site, [{ ...attempt('203.0.113.91'), ip: 'nope' }]));
  conforms('POST', '/v1/events', await svc.app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json' }, payload: '{}' }));
  conforms('GET', '/v1/cloudflare-ranges', await svc.app.inject({ method: 'GET', url: '/v1/cloudflare-ranges', headers: signedHeaders(svc.site, '') }));

  await svc.app.enforcer.drain();
  conforms('GET', '/v1/bans', await inject('GET', '/v1/bans'));
  conforms('GET', '/v1/bans', await inject('GET', '/v1/bans?state=all'));
  conforms('GET', '/v1/bans', await inject('GET', '/v1/bans?state=maybe'));
  conforms('GET', '/v1/bans', await inject('GET', '/v1/bans', undefined, {} as typeof adminHeaders));
  conforms('POST', '/v1/bans', await inject('POST', '/v1/bans', { ip: '198.51.100.5', duration: '1h' }));
  conforms('POST', '/v1/bans', await inject('POST', '/v1/bans', { ip: '198.51.100.5', duration: '2h' }));
  conforms('POST', '/v1/bans', await inject('POST', '/v1/bans', { ip: '10.0.0.1' }));
  conforms('POST', '/v1/bans', await inject('POST', '/v1/bans', { ip: 'x' }));
  conforms('GET', '/v1/ips/:ip', await inject('GET', '/v1/ips/203.0.113.90'));
  conforms('GET', '/v1/ips/:ip', await inject('GET', '/v1/ips/bad'));
  conforms('DELETE', '/v1/bans/:ip', await inject('DELETE', '/v1/bans/203.0.113.90'));
  conforms('DELETE', '/v1/bans/:ip', await inject('DELETE', '/v1/bans/203.0.113.90'));
  conforms('POST', '/v1/allowlist', await inject('POST', '/v1/allowlist', { cidr: '192.0.2.0/24', note: 'office' }));
  conforms('POST', '/v1/allowlist', await inject('POST', '/v1/allowlist', { cidr: 'nope' }));
  conforms('GET', '/v1/allowlist', await inject('GET', '/v1/allowlist'));
  conforms('DELETE', '/v1/allowlist/:cidr', await inject('DELETE', `/v1/allowlist/${encodeURIComponent('192.0.2.0/24')}`));
  conforms('DELETE', '/v1/allowlist/:cidr', await inject('DELETE', `/v1/allowlist/${encodeURIComponent('192.0.2.0/24')}`));
  conforms('GET', '/v1/sites', await inject('GET', '/v1/sites'));
  conforms('GET', '/v1/status', await inject('GET', '/v1/status'));
  conforms('GET', '/v1/shields', await inject('GET', '/v1/shields'));
  conforms('POST', '/v1/sites/:site/shield', await inject('POST', `/v1/sites/${svc.site.id}/shield`, { duration: '1h' }));
  conforms('POST', '/v1/sites/:site/shield', await inject('POST', `/v1/sites/${svc.site.id}/shield`, { duration: '2h' }));
  conforms('POST', '/v1/sites/:site/shield', await inject('POST', '/v1/sites/no-such-site/shield', {}));
  conforms('DELETE', '/v1/sites/:site/shield', await inject('DELETE', `/v1/sites/${svc.site.id}/shield`));
  conforms('DELETE', '/v1/sites/:site/shield', await inject('DELETE', `/v1/sites/${svc.site.id}/shield`));
  conforms('GET', '/healthz', await svc.app.inject({ method: 'GET', url: '/healthz' }));
  conforms('GET', '/openapi.json', await svc.app.inject({ method: 'GET', url: '/openapi.json' }));
});

test('validation stays the handlers\': an unsigned bad body is a 401, a signed one a 400 naming the field', async () => {
  const body = JSON.stringify({ events: [{ ...attempt('203.0.113.92'), ip: 'nope' }] });
  const unsigned = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json' }, payload: body });
  assert.equal(unsigned.statusCode, 401);
  const signed = await svc.app.inject({ method: 'POST', url: '/v1/events', headers: signedHeaders(svc.site, body), payload: body });
  assert.equal(signed.statusCode, 400);
  assert.deepEqual(signed.json(), { error: 'invalid_payload', message: 'events[0].ip: must be an IPv4 or IPv6 address (no zone id, no brackets)' });
  const query = await svc.app.inject({ method: 'GET', url: '/v1/bans?state=maybe', headers: adminHeaders });
  assert.equal(query.statusCode, 400);
  assert.equal(query.json().error, 'invalid_query');
  assert.match(query.json().message, /^state: /);
});

test('/docs serves Swagger UI from the package, under a CSP, fetching nothing from elsewhere', async () => {
  const page = await svc.app.inject({ method: 'GET', url: '/docs' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'(;|$)/);
  const urls = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(urls.filter((u) => !u.startsWith('/') && !u.startsWith('data:')), []);
  for (const url of urls.filter((u) => u.startsWith('/docs/'))) {
    const asset = await svc.app.inject({ method: 'GET', url });
    assert.equal(asset.statusCode, 200, url);
    assert.ok(asset.body.length > 100, url);
  }
  const init = await svc.app.inject({ method: 'GET', url: '/docs/init.js' });
  assert.match(init.body, /url: '\/openapi\.json'/);
  assert.match(init.body, /validatorUrl: null/);
  assert.equal((await svc.app.inject({ method: 'GET', url: '/docs/package.json' })).statusCode, 404);
});

test('with the admin API on its own listener, the document and /docs are served there and not on the ingest address', async () => {
  await withAdminListener(async ({ main, admin }) => {
    for (const path of ['/openapi.json', '/docs']) {
      assert.equal((await fetch(`${main}${path}`)).status, 404, `${path} is not on the ingest address`);
      assert.equal((await fetch(`${admin}${path}`)).status, 200, `${path} is on the admin address`);
    }
    const served = await (await fetch(`${admin}/openapi.json`)).json();
    assert.deepEqual(Object.keys(served.paths).sort(), Object.keys(doc.paths).sort(), 'the same routes are documented');
  });
});
