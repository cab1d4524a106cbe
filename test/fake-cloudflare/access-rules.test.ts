// The fake's IP Access Rules, driven through the real `cloudflare` SDK over loopback.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare from 'cloudflare';
import { startFakeCloudflare, type FakeCloudflare } from './server.ts';

let fake: FakeCloudflare;
let cf: Cloudflare;

before(async () => {
  fake = await startFakeCloudflare();
  cf = new Cloudflare({ apiToken: fake.token, baseURL: fake.baseURL, maxRetries: 0, timeout: 2000 });
});
after(() => fake.close());
beforeEach(() => fake.reset());

const block = (value: string, target: 'ip' | 'ip6' | 'ip_range' = 'ip', notes = 'edgejail') =>
  cf.firewall.accessRules.create({ account_id: fake.accountId, mode: 'block', configuration: { target, value } as never, notes });

describe('IP Access Rules through the SDK', () => {
  it('creates a rule in Cloudflare’s shape and blocks that address', async () => {
    const rule = await block('203.0.113.7');
    assert.match(rule.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(rule.configuration, { target: 'ip', value: '203.0.113.7' });
    assert.equal(rule.mode, 'block');
    assert.equal(rule.notes, 'edgejail');
    assert.ok(rule.allowed_modes.includes('block'));
    assert.equal(rule.scope?.id, fake.accountId);
    assert.ok(!Number.isNaN(Date.parse(rule.created_on!)));
    assert.equal(fake.isBlocked('203.0.113.7'), true);
    assert.equal(fake.isBlocked('203.0.113.8'), false);
  });

  it('refuses a second rule for the same value in the same scope with 400 / 10009', async () => {
    await block('198.51.100.1');
    await assert.rejects(block('198.51.100.1'), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.BadRequestError);
      assert.equal(err.status, 400);
      assert.equal(err.errors[0]?.code, 10009);
      assert.equal(err.errors[0]?.message, 'firewallaccessrules.api.duplicate_of_existing');
      return true;
    });
    // The zone scope is separate.
    await cf.firewall.accessRules.create({ zone_id: fake.zoneId, mode: 'block', configuration: { target: 'ip', value: '198.51.100.1' } });
    assert.equal(fake.accessRules('zone').length, 1);
    assert.equal(fake.accessRules('account').length, 1);
  });

  it('pages through 120 rules with per_page 50 and sees every one exactly once', async () => {
    for (let i = 0; i < 120; i++) fake.addForeignAccessRule({ scope: 'account', mode: 'block', target: 'ip', value: `192.0.2.${i}`, notes: `n${i}` });
    const seen: string[] = [];
    for await (const r of cf.firewall.accessRules.list({ account_id: fake.accountId, per_page: 50 })) seen.push(r.configuration.value!);
    assert.equal(seen.length, 120);
    assert.equal(new Set(seen).size, 120);
    const first = await cf.firewall.accessRules.list({ account_id: fake.accountId, per_page: 50, page: 3 });
    assert.equal(first.result.length, 20);
    assert.deepEqual(first.result_info, { page: 3, per_page: 50, count: 20, total_count: 120, total_pages: 3 } as never);
    const past = await cf.firewall.accessRules.list({ account_id: fake.accountId, per_page: 50, page: 4 });
    assert.deepEqual(past.result, []);
  });

  it('filters by dotted configuration fields, mode and notes, with match any/all', async () => {
    await block('192.0.2.10', 'ip', 'EdgeJail ban: wp-login');
    await block('192.0.2.0/24', 'ip_range', 'someone else');
    await cf.firewall.accessRules.create({ account_id: fake.accountId, mode: 'challenge', configuration: { target: 'country', value: 'NL' }, notes: 'edgejail country' });

    const values = async (q: object) => {
      const out: string[] = [];
      for await (const r of cf.firewall.accessRules.list({ account_id: fake.accountId, ...q })) out.push(r.configuration.value!);
      return out.sort();
    };
    assert.deepEqual(await values({ configuration: { value: '192.0.2.10' } }), ['192.0.2.10']);
    assert.deepEqual(await values({ configuration: { target: 'ip_range' } }), ['192.0.2.0/24']);
    assert.deepEqual(await values({ mode: 'challenge' }), ['NL']);
    assert.deepEqual(await values({ notes: 'EDGEJAIL' }), ['192.0.2.10', 'NL']);
    assert.deepEqual(await values({ notes: 'edgejail', mode: 'block' }), ['192.0.2.10']);
    assert.deepEqual(await values({ notes: 'edgejail', mode: 'block', match: 'any' }), ['192.0.2.0/24', '192.0.2.10', 'NL']);
    const ordered = await cf.firewall.accessRules.list({ account_id: fake.accountId, order: 'configuration.value', direction: 'desc' });
    assert.deepEqual(ordered.result.map((r) => r.configuration.value), ['NL', '192.0.2.10', '192.0.2.0/24']);
  });

  it('refuses per_page outside 5..1000 with a 400 naming the parameter', async () => {
    await assert.rejects(cf.firewall.accessRules.list({ account_id: fake.accountId, per_page: 5000 }), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.BadRequestError);
      assert.match(err.message, /per_page/);
      return true;
    });
  });

  it('validates mode, target and value as Cloudflare does', async () => {
    const bad = async (mode: string, target: string, value: string, pattern: RegExp) => {
      await assert.rejects(
        cf.firewall.accessRules.create({ account_id: fake.accountId, mode: mode as never, configuration: { target, value } as never }),
        (err: unknown) => err instanceof Cloudflare.BadRequestError && pattern.test(err.errors[0]?.message ?? ''),
        `${mode} ${target} ${value}`,
      );
    };
    await bad('ban', 'ip', '192.0.2.1', /invalid mode received: ban/);
    await bad('block', 'hostname', 'example.com', /unsupported target received: hostname/);
    await bad('block', 'ip', '192.0.2.300', /invalid ip/);
    await bad('block', 'ip', '2001:db8::1', /invalid ip/);
    await bad('block', 'ip6', '192.0.2.1', /invalid ip6/);
    await bad('block', 'ip_range', '192.0.2.0/22', /invalid ip range/);
    await bad('block', 'ip_range', '2001:db8::/56', /invalid ip range/);
    await bad('block', 'country', 'Netherlands', /invalid country/);
    assert.equal(fake.accessRules().length, 0);
  });

  it('stores IPv6 values in canonical lowercase compressed form and blocks by ip6 and ip_range', async () => {
    const rule = await block('2001:DB8:0:0:0:0:0:CF', 'ip6');
    assert.equal(rule.configuration.value, '2001:db8::cf');
    assert.equal(fake.isBlocked('2001:db8:0::cf'), true);
    assert.equal(fake.isBlocked('2001:db8::ce'), false);
    await assert.rejects(block('2001:db8::CF', 'ip6'), (err: unknown) => err instanceof Cloudflare.BadRequestError && err.errors[0]?.code === 10009);

    const range = await block('2001:0DB8:AAAA:0001::/64', 'ip_range');
    assert.equal(range.configuration.value, '2001:db8:aaaa:1::/64');
    assert.equal(fake.isBlocked('2001:db8:aaaa:1:ffff::1'), true);
    assert.equal(fake.isBlocked('2001:db8:aaaa:2::1'), false);

    await block('198.51.100.0/24', 'ip_range');
    assert.equal(fake.isBlocked('198.51.100.77'), true);
    assert.equal(fake.isBlocked('198.51.101.77'), false);
  });

  it('edits only mode and notes, deletes by id, and answers 404 / 10001 for an unknown id', async () => {
    const rule = await block('192.0.2.44');
    const edited = await cf.firewall.accessRules.edit(rule.id, {
      account_id: fake.accountId, mode: 'challenge', notes: 'softened', configuration: { target: 'ip', value: '192.0.2.44' },
    });
    assert.equal(edited.mode, 'challenge');
    assert.equal(edited.notes, 'softened');
    assert.equal(fake.isBlocked('192.0.2.44'), false, 'a challenge rule does not block');
    await assert.rejects(
      cf.firewall.accessRules.edit(rule.id, { account_id: fake.accountId, mode: 'block', configuration: { target: 'ip', value: '192.0.2.45' } }),
      Cloudflare.BadRequestError,
    );

    const deleted = await cf.firewall.accessRules.delete(rule.id, { account_id: fake.accountId });
    assert.deepEqual(deleted, { id: rule.id });
    for (const call of [
      () => cf.firewall.accessRules.delete(rule.id, { account_id: fake.accountId }),
      () => cf.firewall.accessRules.get(rule.id, { account_id: fake.accountId }),
      () => cf.firewall.accessRules.delete(rule.id, { zone_id: fake.zoneId }),
    ]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof Cloudflare.NotFoundError);
        assert.equal(err.errors[0]?.code, 10001);
        return true;
      });
    }
  });

  it('enforces the per-account rule limit', async () => {
    const small = await startFakeCloudflare({ maxAccessRules: 2 });
    try {
      const client = new Cloudflare({ apiToken: small.token, baseURL: small.baseURL, maxRetries: 0, timeout: 2000 });
      const create = (value: string) => client.firewall.accessRules.create({ account_id: small.accountId, mode: 'block', configuration: { target: 'ip', value } });
      await create('192.0.2.1');
      await create('192.0.2.2');
      await assert.rejects(create('192.0.2.3'), (err: unknown) => err instanceof Cloudflare.BadRequestError && /quota/.test(err.message));
    } finally {
      await small.close();
    }
  });

  it('lets a test simulate an admin deleting our rule and someone else adding theirs', async () => {
    await block('192.0.2.99');
    assert.equal(fake.deleteAccessRuleByValue('192.0.2.99'), true);
    assert.equal(fake.deleteAccessRuleByValue('192.0.2.99'), false);
    assert.equal(fake.isBlocked('192.0.2.99'), false);
    const foreign = fake.addForeignAccessRule({ scope: 'zone', mode: 'whitelist', target: 'ip', value: '192.0.2.98', notes: 'office' });
    const listed = await cf.firewall.accessRules.list({ zone_id: fake.zoneId });
    assert.deepEqual(listed.result.map((r) => r.id), [foreign.id]);
    assert.equal(fake.isBlocked('192.0.2.98'), false);
  });
});
