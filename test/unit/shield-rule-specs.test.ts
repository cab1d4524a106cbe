// The rules a site's shield asks for, from `shield.action` and `shield.xmlrpc`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shieldRuleSpecs, whyNoRule } from '../../server/shield/rule-specs.ts';
import { shieldConfigSchema } from '../../server/shield/config.ts';
import { shieldExpression } from '../../server/cloudflare/shield-rules.ts';

const site = { id: 's1', zoneId: 'fedcba9876543210fedcba9876543210', hostname: 'shop.example.com' };

test('login and XML-RPC rules for each shield.action × shield.xmlrpc', () => {
  const cases: Array<[Record<string, unknown>, Array<[string, string]>]> = [
    [{}, [['login', 'managed_challenge'], ['xmlrpc', 'block']]],
    [{ xmlrpc: 'challenge' }, [['login', 'managed_challenge'], ['xmlrpc', 'managed_challenge']]],
    [{ action: 'js_challenge', xmlrpc: 'challenge' }, [['login', 'js_challenge'], ['xmlrpc', 'js_challenge']]],
    [{ action: 'block', xmlrpc: 'challenge' }, [['login', 'block'], ['xmlrpc', 'managed_challenge']]],
    [{ xmlrpc: 'off' }, [['login', 'managed_challenge']]],
  ];
  for (const [overrides, expected] of cases) {
    const specs = shieldRuleSpecs(site, shieldConfigSchema.parse(overrides));
    assert.deepEqual(specs.map((s) => [s.part, s.action]), expected, JSON.stringify(overrides));
    assert.ok(specs.every((s) => s.zoneId === site.zoneId && s.hostname === site.hostname && s.siteId === 's1'));
  }
});

test('no rule without a zone or a hostname, and the reason says what to set', () => {
  assert.deepEqual(shieldRuleSpecs({ ...site, zoneId: null }, shieldConfigSchema.parse({})), []);
  assert.match(whyNoRule({ ...site, zoneId: null })!, /--zone/);
  assert.match(whyNoRule({ ...site, hostname: null })!, /--host/);
  assert.equal(whyNoRule(site), null);
});

test('the expressions match the site’s host and only POSTs to the login form or XML-RPC', () => {
  assert.equal(shieldExpression('shop.example.com', 'login'), '(http.host eq "shop.example.com" and http.request.method eq "POST" and http.request.uri.path contains "/wp-login.php")');
  assert.equal(shieldExpression('shop.example.com', 'xmlrpc'), '(http.host eq "shop.example.com" and http.request.method eq "POST" and http.request.uri.path contains "/xmlrpc.php")');
});

test('bad shield config is refused with the key named', () => {
  for (const bad of [{ action: 'ban' }, { xmlrpc: 'allow' }, { findtime: 'soon' }, { maxretry: 0 }, { bantime: '10s' }, { event_types: ['hello'] }, { colour: 1 }]) {
    assert.equal(shieldConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
