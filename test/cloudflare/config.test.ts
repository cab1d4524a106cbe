// The cloudflare config section: environment over file, dry-run without a token, clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloudflareConfigFromEnv, cloudflareConfigSchema, describeCloudflareConfig, isDryRun, parseCloudflareConfig } from '../../server/cloudflare/config.ts';

test('defaults: access rules at account scope, block, edgejail_blocked, a limiter under 1,200 per 5 minutes, SDK retries off', () => {
  const config = parseCloudflareConfig(cloudflareConfigFromEnv({ CLOUDFLARE_API_TOKEN: 't0ken', CLOUDFLARE_ACCOUNT_ID: 'acc' }, undefined));
  assert.equal(config.backend, 'access_rules');
  assert.equal(config.scope, 'account');
  assert.equal(config.mode, 'block');
  assert.equal(config.list_name, 'edgejail_blocked');
  assert.deepEqual(config.rate_limit, {
    requests: 1200, per_seconds: 300, safety_margin: 0.2, max_per_second: 20,
    list_item_changes: 1_000_000, list_write_requests: 30_000, list_changes_per_seconds: 43_200,
  });
  assert.equal(config.list_capacity, 10_000);
  assert.equal(config.sdk.max_retries, 0);
  assert.ok(config.sdk.timeout_ms <= 10_000);
  assert.equal(isDryRun(config), false);
});

test('the environment wins over the file section, and a zone id alone means zone scope', () => {
  const config = parseCloudflareConfig(
    cloudflareConfigFromEnv(
      { EDGEJAIL_CF_BACKEND: 'access_rules', CLOUDFLARE_API_TOKEN: 'from-env', CLOUDFLARE_ZONE_ID: 'zone1', CLOUDFLARE_BASE_URL: 'http://127.0.0.1:9/client/v4' },
      { backend: 'list', api_token: 'from-file', mode: 'managed_challenge' },
    ),
  );
  assert.equal(config.backend, 'access_rules');
  assert.equal(config.api_token, 'from-env');
  assert.equal(config.scope, 'zone');
  assert.equal(config.mode, 'managed_challenge');
  assert.equal(config.base_url, 'http://127.0.0.1:9/client/v4');
});

test('no token is dry-run and needs no ids; the token is never shown', () => {
  const dry = parseCloudflareConfig(cloudflareConfigFromEnv({ CLOUDFLARE_API_TOKEN: '  ' }, undefined));
  assert.equal(isDryRun(dry), true);
  const shown = describeCloudflareConfig(parseCloudflareConfig({ api_token: 'secret-value', account_id: 'a' }));
  assert.equal(shown.api_token, '(set)');
  assert.ok(!JSON.stringify(shown).includes('secret-value'));
  assert.ok(parseCloudflareConfig(undefined).api_token === undefined);
});

test('invalid settings are refused with the key and the reason', () => {
  const issues = (input: unknown) => {
    const result = cloudflareConfigSchema.safeParse(input);
    assert.equal(result.success, false);
    return result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  };
  assert.match(issues({ api_token: 't', backend: 'list', zone_id: 'z' }), /account_id: the list backend needs CLOUDFLARE_ACCOUNT_ID/);
  assert.match(issues({ api_token: 't' }), /account_id: account scope needs CLOUDFLARE_ACCOUNT_ID/);
  assert.match(issues({ backend: 'firewall' }), /backend/);
  assert.match(issues({ mode: 'whitelist' }), /mode/);
  assert.match(issues({ list_name: 'Bad-Name' }), /list_name: must use only a-z, 0-9 and _/);
  assert.match(issues({ sdk: { max_retries: 10 } }), /sdk\.max_retries/);
  assert.match(issues('cloudflare'), /expected object/);
});
