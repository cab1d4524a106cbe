// The OpenAPI document is the CI check that every route has a schema: it must list every
// route the app registers (and nothing else), every $ref must resolve, and real answers
// of the routes must parse with the schemas the document was generated from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { ROUTE_DOCS, UNDOCUMENTED_PREFIXES } from '../../server/openapi/routes.ts';
import { openApiPath } from '../../server/openapi/document.ts';
import { adminHeaders, attempt, postEvents, signedHeaders, startService } from '../support/service.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let doc: any;
before(async () => {
  svc = await startService();
  const res = await svc.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  doc = res.json();
});
after(async () => svc.close());

const documented = (method: string, url: string) => doc.paths[openApiPath(url)]?.[method.toLowerCase()];

test('every route the app registers has an OpenAPI entry, and every entry has a route', () => {
  const routes = svc.app.registeredRoutes();
  assert.ok(routes.some((r) => r.url === '/v1/events'), 'the route recorder saw the routes');
  const missing = routes
    .filter((r) => !UNDOCUMENTED_PREFIXES.some((p) => r.url === p || r.url.startsWith(`${p}/`)))
    .filter((r) => !documented(r.method, r.url))
    .map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(missing, [], 'add these to server/openapi/routes.ts with their zod schemas');

  const stale = ROUTE_DOCS.filter((d) => !routes.some((r) => r.method === d.method && r.url === d.path)).map((d) => `${d.method} ${d.path}`);
  assert.deepEqual(stale, [], 'documented but not registered');
  for (const r of routes.filter((r) => r.url.startsWith('/v1/'))) {
    const op = documented(r.method, r.url);
    assert.ok(Object.keys(op.responses).some((s) => s.startsWith('2') && op.responses[s].content), `${r.method} ${r.url} documents its success body`);
  }
});

test('the document is OpenAPI 3.1 and every $ref resolves', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof doc.info.version, 'string');
  const refs: string[] = [];
  (function walk(node: unknown) {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) k === '$ref' ? refs.push(v as string) : walk(v);
    }
  })(doc);
  assert.ok(refs.length > 20);
  for (const ref of refs) {
    const name = ref.replace('#/components/schemas/', '');
    assert.ok(doc.components.schemas[name], `dangling ${ref}`);
  }
  const ids = Object.values(doc.paths).flatMap((ops: any) => Object.values(ops).map((op: any) => op.operationId));
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  // Request bodies are documented from the input side: a duration may be "1h" or 3600.
  assert.deepEqual(doc.components.schemas.ManualBanRequest.properties.duration.type, ['number', 'string']);
  assert.deepEqual(doc.components.schemas.ManualBanRequest.required, ['ip']);
  assert.deepEqual(doc.paths['/v1/bans'].post.security, [{ adminToken: [] }]);
  assert.deepEqual(doc.paths['/v1/events'].post.security, [{ siteId: [], siteTimestamp: [], siteSignature: [] }]);
  assert.deepEqual(doc.paths['/v1/bans/{ip}'].delete.parameters.map((p: any) => [p.name, p.in]), [['ip', 'path'], ['jail', 'query']]);
  assert.deepEqual(doc.paths['/v1/bans'].get.parameters.map((p: any) => [p.name, p.in, p.schema.enum]), [['state', 'query', ['active', 'all']]]);
});

/** The zod schema the document promises for this answer. */
function promised(method: string, path: string, status: number): z.ZodType {
  const route = ROUTE_DOCS.find((d) => d.method === method && d.path === path);
  const schema = route?.responses[status]?.schema;
  assert.ok(schema, `${method} ${path} does not document status ${status}`);
  return schema;
}

function conforms(method: string, path: string, res: { statusCode: number; json: () => unknown; body: string }) {
  const parsed = promised(method, path, res.statusCode).safeParse(res.json());
  assert.ok(parsed.success, `${method} ${path} → ${res.statusCode} does not match its documented schema: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}\n${res.body.slice(0, 500)}`);
}

test('real answers of every documented JSON route match their documented schemas', async () => {
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
  conforms('GET', '/healthz', await svc.app.inject({ method: 'GET', url: '/healthz' }));
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
