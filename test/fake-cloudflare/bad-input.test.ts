// Whatever a client sends, the fake answers a 4xx in Cloudflare's envelope: never a 5xx, never a hang.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeCloudflare, type FakeCloudflare } from './server.ts';

let fake: FakeCloudflare;
before(async () => { fake = await startFakeCloudflare({ bulkOperationMs: 1 }); });
after(() => fake.close());

const BODIES = [
  undefined, 'not json', 'null', '[]', '{}', '"text"', '42', '[null]', '{"rules":[null]}', '{"rules":[{"action":"block"}]}',
  '[{"ip":null}]', '[{"ip":"192.0.2.1","comment":5}]', '{"items":[{}]}', '{"items":"all"}',
  '{"mode":"block","configuration":{"target":"ip","value":["192.0.2.1"]}}', '{"mode":"block","configuration":null}',
  '{"mode":"block","configuration":{"target":"ip","value":"192.0.2.1"},"notes":{}}', '{"name":"ok_name","kind":"hostname"}',
  '{"configuration":{"target":"ip","value":"192.0.2.9"}}', '{"expression":"ip.src in $nope","action":"block"}',
  '{"name":"x","kind":"zone","phase":"http_request_firewall_custom","rules":[{"action":"block","expression":"("}]}', '{"position":{"index":0}}',
  '{"action":"block","expression":"true","position":{"before":5}}', '{"action":"block","expression":"true","ref":""}',
];

it('answers every malformed request on every route with a 4xx envelope', async () => {
  const a = `/accounts/${fake.accountId}`;
  const z = `/zones/${fake.zoneId}`;
  // Real ids for the routes that need one, so the body is what gets checked.
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${fake.baseURL}${path}`, { method: 'POST', headers: { authorization: `Bearer ${fake.token}` }, body: JSON.stringify(body) });
    return ((await res.json()) as { result: { id: string } }).result.id;
  };
  const ruleId = await post(`${a}/firewall/access_rules/rules`, { mode: 'block', configuration: { target: 'ip', value: '192.0.2.9' } });
  const listId = await post(`${a}/rules/lists`, { name: 'fuzz', kind: 'ip' });
  const rulesetRes = await fetch(`${fake.baseURL}${z}/rulesets/phases/http_request_firewall_custom/entrypoint`, {
    method: 'PUT', headers: { authorization: `Bearer ${fake.token}` }, body: JSON.stringify({ rules: [{ action: 'block', expression: 'ip.src in $fuzz' }] }),
  });
  const ruleset = ((await rulesetRes.json()) as { result: { id: string; rules: Array<{ id: string }> } }).result;

  const targets: Array<[string, string]> = [
    ['POST', `${a}/firewall/access_rules/rules`], ['PATCH', `${a}/firewall/access_rules/rules/${ruleId}`],
    ['POST', `${z}/firewall/access_rules/rules`], ['GET', `${a}/firewall/access_rules/rules?per_page=abc&match=some&order=x`],
    ['POST', `${a}/rules/lists`], ['PUT', `${a}/rules/lists/${listId}`],
    ['POST', `${a}/rules/lists/${listId}/items`], ['PUT', `${a}/rules/lists/${listId}/items`], ['DELETE', `${a}/rules/lists/${listId}/items`],
    ['GET', `${a}/rules/lists/${listId}/items?cursor=%%%&per_page=0`],
    ['PUT', `${z}/rulesets/phases/http_request_firewall_custom/entrypoint`], ['PUT', `${z}/rulesets/phases/no_such_phase/entrypoint`],
    ['POST', `${z}/rulesets/${ruleset.id}/rules`], ['PATCH', `${z}/rulesets/${ruleset.id}/rules/${ruleset.rules[0]!.id}`],
    ['POST', `${z}/rulesets`], ['POST', `${a}/rulesets?dry_run=true`], ['DELETE', `${z}/rulesets/${ruleset.id}/rules/${'f'.repeat(32)}`],
    ['DELETE', `${a}/firewall/access_rules/rules/${'f'.repeat(32)}`], ['GET', `${a}/rules/lists/bulk_operations/nope`],
    ['PATCH', `/accounts/${'x'.repeat(40)}/firewall/access_rules/rules/1`], ['GET', '/no/such/route'], ['PUT', '/ips'],
  ];
  let answered = 0;
  for (const [method, path] of targets) {
    for (const body of BODIES) {
      // Bulk writes that pass validation start an operation; let it finish so the next one is not refused.
      await new Promise((r) => setTimeout(r, 2));
      const res = await fetch(`${fake.baseURL}${path}`, {
        method,
        headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
        ...(body === undefined || method === 'GET' ? {} : { body }),
      });
      const text = await res.text();
      assert.ok(res.status < 500, `${method} ${path} ${body} → ${res.status} ${text}`);
      const envelope = JSON.parse(text) as { success: boolean; errors: Array<{ code: number; message: string }> };
      if (res.status >= 400) {
        assert.equal(envelope.success, false, `${method} ${path} ${body}`);
        assert.ok(envelope.errors[0]!.message.length > 0, `${method} ${path} ${body} has no message`);
      }
      answered++;
    }
  }
  assert.equal(answered, targets.length * BODIES.length);
});
