// Every answer the fake gives on the paths EdgeJail uses, success and failure, conforms to
// Cloudflare's published OpenAPI schema for that operation and status.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeCloudflare, type FakeCloudflare } from './server.ts';
import { findOpenApi, OpenApiChecker } from './openapi-validator.ts';

const schemaFile = findOpenApi();
let fake: FakeCloudflare;
let checker: OpenApiChecker;

before(async () => {
  fake = await startFakeCloudflare({ bulkOperationMs: 5 });
  if (schemaFile) checker = new OpenApiChecker(schemaFile);
});
after(() => fake.close());

interface Answer { status: number; body: { result: unknown; errors: Array<{ code: number }> } & Record<string, unknown> }

/** Calls the fake and checks the answer against the schema; returns it for the scenario to go on. */
async function call(method: string, path: string, body?: unknown, expectStatus = 200, allowed: string[] = []): Promise<Answer> {
  const res = await fetch(`${fake.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = (await res.json()) as Answer['body'];
  assert.equal(res.status, expectStatus, `${method} ${path}: ${JSON.stringify(parsed)}`);
  const problems = checker.check(method, path, res.status, parsed).filter((p) => !allowed.some((a) => p.includes(a)));
  assert.deepEqual(problems, [], `${method} ${path} → ${res.status} does not match Cloudflare's schema`);
  return { status: res.status, body: parsed };
}

async function waitForOperation(id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const op = await call('GET', `/accounts/${fake.accountId}/rules/lists/bulk_operations/${id}`);
    if ((op.body.result as { status: string }).status === 'completed') return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('bulk operation did not complete');
}

describe('conformance to Cloudflare’s OpenAPI schema', { skip: schemaFile ? false : 'shared/cloudflare/openapi.json.gz not found' }, () => {
  it('tokens, account, zone and /ips', async () => {
    await call('GET', '/user/tokens/verify');
    await call('GET', `/accounts/${fake.accountId}/tokens/verify`);
    await call('GET', `/accounts/${fake.accountId}`);
    await call('GET', `/zones/${fake.zoneId}`);
    await call('GET', '/ips');
  });

  it('account IP Access Rules: create, list, get, edit, delete, and their failures', async () => {
    const base = `/accounts/${fake.accountId}/firewall/access_rules/rules`;
    const created = await call('POST', base, { mode: 'block', configuration: { target: 'ip', value: '192.0.2.1' }, notes: 'edgejail' });
    const id = (created.body.result as { id: string }).id;
    await call('POST', base, { mode: 'block', configuration: { target: 'ip6', value: '2001:db8::1' } });
    await call('POST', base, { mode: 'challenge', configuration: { target: 'ip_range', value: '198.51.100.0/24' } });
    await call('GET', `${base}?per_page=5&configuration.target=ip&match=all`);
    await call('GET', `${base}?page=9`);
    await call('GET', `${base}/${id}`);
    await call('PATCH', `${base}/${id}`, { mode: 'managed_challenge', notes: 'x' });
    await call('POST', base, { mode: 'block', configuration: { target: 'ip', value: '192.0.2.1' } }, 400);
    await call('POST', base, { mode: 'block', configuration: { target: 'ip', value: '300.0.0.1' } }, 400);
    await call('DELETE', `${base}/${id}`);
    await call('DELETE', `${base}/${id}`, undefined, 404);
  });

  it('zone IP Access Rules, whose scope.type "zone" is the one known departure from the schema', async () => {
    // The schema's enum for scope.type is user|organization; zone-level rules report "zone" (README).
    const zoneScope = ['scope.type: "zone" is not one of'];
    const base = `/zones/${fake.zoneId}/firewall/access_rules/rules`;
    const created = await call('POST', base, { mode: 'block', configuration: { target: 'ip', value: '192.0.2.200' } }, 200, zoneScope);
    await call('GET', base, undefined, 200, zoneScope);
    await call('DELETE', `${base}/${(created.body.result as { id: string }).id}`);
  });

  it('lists, items and bulk operations', async () => {
    const lists = `/accounts/${fake.accountId}/rules/lists`;
    const created = await call('POST', lists, { name: 'conformance', kind: 'ip', description: 'checked against the schema' });
    const listId = (created.body.result as { id: string }).id;
    await call('GET', lists);
    await call('GET', `${lists}/${listId}`);
    const add = await call('POST', `${lists}/${listId}/items`, [{ ip: '192.0.2.9', comment: 'c' }, { ip: '2001:db8:1::/48' }]);
    await waitForOperation((add.body.result as { operation_id: string }).operation_id);
    const items = await call('GET', `${lists}/${listId}/items?per_page=1`);
    const itemId = (items.body.result as Array<{ id: string }>)[0]!.id;
    await call('GET', `${lists}/${listId}/items/${itemId}`);
    const replace = await call('PUT', `${lists}/${listId}/items`, [{ ip: '203.0.113.1' }]);
    await waitForOperation((replace.body.result as { operation_id: string }).operation_id);
    const remaining = await call('GET', `${lists}/${listId}/items`);
    const del = await call('DELETE', `${lists}/${listId}/items`, { items: [{ id: (remaining.body.result as Array<{ id: string }>)[0]!.id }] });
    await waitForOperation((del.body.result as { operation_id: string }).operation_id);
    await call('POST', lists, { name: 'Not Valid', kind: 'ip' }, 400);
    await call('DELETE', `${lists}/${listId}`);
    await call('GET', `${lists}/${listId}`, undefined, 404);
  });

  it('custom-rule entrypoint: missing, created, extended', async () => {
    const lists = `/accounts/${fake.accountId}/rules/lists`;
    await call('POST', lists, { name: 'bans', kind: 'ip' });
    const entry = `/zones/${fake.zoneId}/rulesets/phases/http_request_firewall_custom/entrypoint`;
    await call('GET', entry, undefined, 404);
    const put = await call('PUT', entry, { rules: [{ action: 'block', expression: 'ip.src in $bans', description: 'EdgeJail' }] });
    const rulesetId = (put.body.result as { id: string }).id;
    await call('GET', entry);
    await call('GET', `/zones/${fake.zoneId}/rulesets`);
    await call('POST', `/zones/${fake.zoneId}/rulesets/${rulesetId}/rules`, { action: 'managed_challenge', expression: 'ip.src in $bans', enabled: false });
  });

  it('zone custom rules one at a time: create the entrypoint, add, edit, move, delete, and their failures', async () => {
    fake.reset();
    const z = `/zones/${fake.zoneId}/rulesets`;
    const rule = { action: 'managed_challenge', expression: '(http.host eq "shop.example.com" and http.request.method eq "POST" and http.request.uri.path eq "/wp-login.php")', description: 'edgejail:shield' };
    const created = await call('POST', z, { name: 'default', kind: 'zone', phase: 'http_request_firewall_custom', rules: [rule] });
    const rs = created.body.result as { id: string; rules: Array<{ id: string }> };
    await call('POST', z, { name: 'again', kind: 'zone', phase: 'http_request_firewall_custom' }, 400);
    await call('POST', z, { name: 'x', kind: 'root', phase: 'http_request_firewall_custom' }, 400);
    await call('POST', `${z}?dry_run=true`, { name: 'mine', kind: 'custom', phase: 'http_request_firewall_custom' });
    const added = await call('POST', `${z}/${rs.id}/rules`, { action: 'block', expression: 'http.request.uri.path eq "/xmlrpc.php"', position: { index: 1 } });
    const xmlrpc = (added.body.result as { rules: Array<{ id: string }> }).rules[0]!.id;
    await call('PATCH', `${z}/${rs.id}/rules/${xmlrpc}`, { action: 'challenge', expression: 'http.request.uri.path eq "/xmlrpc.php"', enabled: false });
    await call('PATCH', `${z}/${rs.id}/rules/${xmlrpc}`, { position: { after: rs.rules[0]!.id } });
    await call('POST', `${z}/${rs.id}/rules`, { action: 'rewrite', expression: 'true' }, 400);
    await call('POST', `${z}/${rs.id}/rules`, { action: 'block', expression: 'http.hots eq "x"' }, 400);
    await call('POST', `${z}/${rs.id}/rules`, { action: 'block', expression: 'true', position: { before: 'f'.repeat(32) } }, 400);
    await call('PATCH', `${z}/${rs.id}/rules/${'f'.repeat(32)}`, rule, 404);
    await call('DELETE', `${z}/${rs.id}/rules/${xmlrpc}?dry_run=true`);
    await call('DELETE', `${z}/${rs.id}/rules/${xmlrpc}`);
    await call('DELETE', `${z}/${rs.id}/rules/${xmlrpc}`, undefined, 404);
    await call('GET', `${z}/${rs.id}`);
    await call('GET', `${z}/${'f'.repeat(32)}`, undefined, 404);
  });
});

describe('the schema checker itself', { skip: schemaFile ? false : 'shared/cloudflare/openapi.json.gz not found' }, () => {
  it('reports wrong enums, wrong types, missing fields and unknown shapes', () => {
    const env = (result: unknown) => ({ success: true, errors: [], messages: [], result });
    const rule = { id: 'a'.repeat(32), allowed_modes: ['block'], configuration: { target: 'ip', value: '192.0.2.1' }, mode: 'block', notes: '' };
    const rules = `/accounts/${'0'.repeat(32)}/firewall/access_rules/rules`;
    assert.deepEqual(checker.check('POST', rules, 200, env(rule)), []);
    assert.match(checker.check('POST', rules, 200, env({ ...rule, mode: 'ban' })).join(), /"ban" is not one of/);
    assert.match(checker.check('GET', rules, 200, env([{ ...rule, id: 5 }])).join(), /\$\.result\[0\]\.id: expected string/);
    assert.match(checker.check('POST', rules, 400, { success: false, errors: [{ message: 'x' }], messages: [], result: null }).join(), /missing required code/);
    assert.match(checker.check('GET', `/accounts/x/rules/lists/bulk_operations/abc`, 200, env({ id: 'abc', status: 'done' })).join(), /none of the anyOf/);
    assert.match(checker.check('GET', '/no/such/path', 200, env(null)).join(), /no operation/);
    // Rulesets answers are documented through #/components/responses/...: they are checked too.
    const ruleset = `/zones/${'0'.repeat(32)}/rulesets/${'1'.repeat(32)}/rules`;
    const good = { id: '1'.repeat(32), name: 'default', kind: 'zone', phase: 'http_request_firewall_custom', version: '2', last_updated: '2026-01-01T00:00:00Z', rules: [] };
    assert.deepEqual(checker.check('POST', ruleset, 200, env(good)), []);
    const entrypoint = `/zones/${'0'.repeat(32)}/rulesets/phases/http_request_firewall_custom/entrypoint`;
    assert.deepEqual(checker.check('GET', entrypoint, 200, env(good)), []);
    assert.match(checker.check('GET', entrypoint, 200, env({ ...good, kind: 'entrypoint' })).join(), /"entrypoint" is not one of/);
    assert.match(checker.check('POST', ruleset, 200, env({ ...good, rules: [{ id: 'r', action: 'block', expression: 'true' }] })).join(), /none of the anyOf/);
    assert.match(checker.check('POST', ruleset, 400, { success: false, errors: [{ code: 1 }], messages: [], result: null }).join(), /missing required message/);
  });
});
