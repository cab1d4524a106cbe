// Walks every operation of /openapi.json with bad inputs, as an API fuzzer does, and demands
// that each answer's status is one the document lists for that route (and never a 5xx).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { adminHeaders, signedHeaders, startService } from '../support/service.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let doc: { paths: Record<string, Record<string, { responses: Record<string, unknown>; security: Array<Record<string, unknown>>; parameters?: Array<{ name: string; in: string; schema: { pattern?: string; maxLength?: number } }>; requestBody?: unknown }>> };
before(async () => {
  svc = await startService();
  doc = (await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
after(async () => svc.close());

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];
const OVERSIZE = JSON.stringify({ events: [], padding: 'x'.repeat(300 * 1024) });

function concrete(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'x');
}

const GOOD_PARAMS = () => ({ ip: '203.0.113.90', cidr: encodeURIComponent('192.0.2.0/24'), site: svc.site.id });
const BAD_PARAMS = [
  { ip: 'not-an-ip', cidr: 'not-a-cidr', site: 'no-such-site' },
  { ip: '999.1.1.1', cidr: encodeURIComponent('10.0.0.0/99'), site: 'x'.repeat(300) },
  { ip: '%zz', cidr: '%zz', site: '%zz' },
  { ip: 'a'.repeat(500), cidr: encodeURIComponent(`${'1'.repeat(400)}/8`), site: '..' },
];
const BAD_BODIES = ['{"ip":"999.1.1.1"}', '{"cidr":"300.0.0.0/8"}', `{"ip":"${'1'.repeat(200)}"}`, '{"events":[{"ip":"::zz"}]}', '[]', '{', 'null'];

function authHeaders(security: Array<Record<string, unknown>>, body: string): Record<string, string> {
  const kinds = security.flatMap((s) => Object.keys(s));
  if (kinds.includes('adminToken')) return { ...adminHeaders };
  if (kinds.includes('siteSignature')) {
    const { 'content-type': _ct, ...headers } = signedHeaders(svc.site, body);
    return headers;
  }
  return {};
}

interface Probe {
  what: string;
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

function probes(path: string, method: Method, op: (typeof doc.paths)[string][string]): Probe[] {
  const list: Probe[] = [];
  const url = concrete(path, GOOD_PARAMS());
  const sends = (payload: string | undefined, contentType: string | undefined, auth = true) => ({
    ...(contentType && { 'content-type': contentType }),
    ...(auth ? authHeaders(op.security, payload ?? '') : {}),
  });
  list.push({ what: 'no credentials', method, url, headers: sends(undefined, undefined, false) });
  list.push({ what: 'wrong content type', method, url, headers: sends('{"ip":"203.0.113.91"}', 'text/plain'), payload: '{"ip":"203.0.113.91"}' });
  list.push({ what: 'form content type', method, url, headers: sends('a=b', 'application/x-www-form-urlencoded'), payload: 'a=b' });
  list.push({ what: 'oversize body', method, url, headers: sends(OVERSIZE, 'application/json'), payload: OVERSIZE });
  for (const body of BAD_BODIES) list.push({ what: `bad body ${body.slice(0, 30)}`, method, url, headers: sends(body, 'application/json'), payload: body });
  if (path.includes('{')) {
    for (const params of BAD_PARAMS) {
      list.push({ what: `bad path parameter ${JSON.stringify(params).slice(0, 60)}`, method, url: concrete(path, params), headers: sends(undefined, undefined) });
    }
  }
  return list;
}

test('the document lists ip and cidr formats and bounds', () => {
  const params = Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => op.parameters ?? []));
  for (const name of ['ip', 'cidr']) {
    const param = params.find((p) => p.name === name);
    assert.ok(param, `a ${name} parameter exists`);
    assert.ok(param.schema.pattern && param.schema.maxLength, `${name} has a pattern and a maxLength`);
  }
});

test('the document names the answer signature of the webhook and the Allow header of a 405', () => {
  const events = doc.paths['/v1/events']!.post! as unknown as { responses: Record<string, { headers?: Record<string, unknown> }> };
  assert.ok(events.responses['200']!.headers?.['X-EdgeJail-Signature'], 'the 200 of /v1/events documents X-EdgeJail-Signature');
  const bans = doc.paths['/v1/bans']!.get! as unknown as { responses: Record<string, { headers?: Record<string, unknown> }> };
  assert.ok(bans.responses['405']!.headers?.Allow, 'a 405 documents Allow');
});

/**
 * One probe's answer. A shed (503 `overloaded`) answers nothing about the input: on a loaded
 * machine a loop blocked for a whole sample interval sheds every request for the next one,
 * so, as a client honouring Retry-After would, the probe is sent again until it is heard.
 */
async function ask(probe: { method: Method; url: string; headers: Record<string, string>; payload?: string }) {
  for (let tries = 0; ; tries++) {
    const res = await svc.app.inject({ method: probe.method, url: probe.url, headers: probe.headers, ...(probe.payload !== undefined && { payload: probe.payload }) });
    const shed = res.statusCode === 503 && res.body.includes('"overloaded"');
    if (!shed || tries >= 200) return res;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('every answer to a bad input is a status the document lists for that route', async () => {
  const undocumented: string[] = [];
  let asked = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    const served = Object.keys(ops).map((m) => m.toUpperCase());
    for (const [lower, op] of Object.entries(ops)) {
      const method = lower.toUpperCase() as Method;
      for (const probe of probes(path, method, op)) {
        const res = await ask(probe);
        asked++;
        if (!(String(res.statusCode) in op.responses) || res.statusCode >= 500) {
          undocumented.push(`${method} ${path} (${probe.what}) → ${res.statusCode} ${res.body.slice(0, 120)}`);
        }
      }
    }
    // A method the path does not serve: 405, documented on each of the path's operations.
    for (const method of METHODS.filter((m) => !served.includes(m))) {
      const res = await ask({ method, url: concrete(path, GOOD_PARAMS()), headers: { ...adminHeaders } });
      asked++;
      const listed = Object.values(ops).every((op) => String(res.statusCode) in op.responses);
      if (!listed || res.statusCode !== 405) undocumented.push(`${method} ${path} (wrong method) → ${res.statusCode} ${res.body.slice(0, 120)}`);
      else {
        const allow = String(res.headers.allow).split(', ');
        for (const m of served) assert.ok(allow.includes(m), `Allow on ${path} lists ${m}: ${res.headers.allow}`);
      }
    }
  }
  assert.ok(asked > 100, `walked ${asked} requests`);
  assert.deepEqual(undocumented, [], `undocumented answers:\n${undocumented.join('\n')}`);
});
