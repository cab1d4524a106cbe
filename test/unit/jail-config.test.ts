// The jails section: zero config protects a WordPress site; a user's jails merge over the
// defaults; a mistake names the key to fix and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeZodError } from '../../server/contract/events.ts';
import { DEFAULT_JAILS_CONFIG, jailsConfigSchema } from '../../server/jail/jail-config.ts';

test('with no config the defaults protect a site', () => {
  const jails = jailsConfigSchema.parse(undefined);
  assert.deepEqual(Object.keys(jails).sort(), ['blocked_username', 'recidive', 'wordpress', 'wordpress_probe']);
  assert.deepEqual(jails, DEFAULT_JAILS_CONFIG);
  const wp = jails.wordpress!;
  assert.deepEqual(wp.event_types, ['login_failed', 'xmlrpc_login_failed', 'xmlrpc_multicall', 'app_password_failed', 'rest_auth_failed']);
  assert.deepEqual(
    { maxretry: wp.maxretry, findtime: wp.findtime, bantime: wp.bantime, scope: wp.scope, forgive: wp.forgive_on_success },
    { maxretry: 5, findtime: 600, bantime: 3600, scope: 'global', forgive: true },
  );
  assert.deepEqual(wp.bantime_increment, { enabled: true, factor: 2, maxtime: 604_800, overalljails: false });
  assert.equal(jails.blocked_username!.maxretry, 1);
  assert.equal(jails.blocked_username!.bantime, 86_400);
  assert.deepEqual(jails.wordpress_probe!.event_types, ['user_enumeration', 'lostpassword_unknown_user', 'pingback']);
  assert.equal(jails.wordpress_probe!.maxretry, 20);
  assert.deepEqual(
    { types: jails.recidive!.event_types, maxretry: jails.recidive!.maxretry, findtime: jails.recidive!.findtime, bantime: jails.recidive!.bantime },
    { types: ['ban'], maxretry: 5, findtime: 86_400, bantime: 604_800 },
  );
  assert.deepEqual(jailsConfigSchema.parse({}), DEFAULT_JAILS_CONFIG);
  assert.deepEqual(jailsConfigSchema.parse(null), DEFAULT_JAILS_CONFIG);
});

test("a user's jails merge over the defaults", () => {
  const jails = jailsConfigSchema.parse({
    wordpress: { maxretry: 3, bantime_increment: { multipliers: '1 2 4 8' } },
    wordpress_probe: { enabled: false },
    blocked_username: null, // an empty YAML key keeps the default
    xmlrpc_strict: { event_types: ['xmlrpc_multicall'], maxretry: 1, findtime: 60, bantime: '1d', scope: 'site' },
  });
  const wp = jails.wordpress!;
  assert.equal(wp.maxretry, 3);
  assert.equal(wp.findtime, 600); // kept from the default
  assert.deepEqual(wp.bantime_increment, { enabled: true, factor: 2, multipliers: [1, 2, 4, 8], maxtime: 604_800, overalljails: false });
  assert.equal(jails.wordpress_probe!.enabled, false);
  assert.equal(jails.wordpress_probe!.maxretry, 20);
  assert.deepEqual(jails.blocked_username, DEFAULT_JAILS_CONFIG.blocked_username);
  assert.deepEqual(jails.recidive, DEFAULT_JAILS_CONFIG.recidive);
  const custom = jails.xmlrpc_strict!;
  assert.deepEqual(
    { enabled: custom.enabled, scope: custom.scope, findtime: custom.findtime, bantime: custom.bantime, forgive: custom.forgive_on_success },
    { enabled: true, scope: 'site', findtime: 60, bantime: 86_400, forgive: true },
  );
  // A new jail without the section has no increment; writing the section turns it on.
  assert.equal(custom.bantime_increment.enabled, false);
  const withSection = jailsConfigSchema.parse({ x: { event_types: ['login_failed'], maxretry: 2, findtime: 60, bantime: 60, bantime_increment: { maxtime: '1d', rndtime: '5m', overalljails: true } } });
  assert.deepEqual(withSection.x!.bantime_increment, { enabled: true, factor: 2, maxtime: 86_400, rndtime: 300, overalljails: true });
});

test('config errors name the key and say why', async (t) => {
  const cases: Array<[name: string, input: unknown, message: RegExp]> = [
    ['maxretry below 1', { wordpress: { maxretry: 0 } }, /^wordpress\.maxretry: .*>=1/],
    ['maxretry not whole', { wordpress: { maxretry: 2.5 } }, /^wordpress\.maxretry: .*expected int/],
    ['bad duration', { wordpress: { findtime: '10 minutes' } }, /^wordpress\.findtime: "10 minutes" is not a duration/],
    ['zero duration', { wordpress: { bantime: 0 } }, /^wordpress\.bantime: must be longer than 0/],
    ['unknown event type', { wordpress: { event_types: ['login_failed', 'nope'] } }, /^wordpress\.event_types\[1\]: Invalid option/],
    ['empty event types', { wordpress: { event_types: [] } }, /^wordpress\.event_types: must list at least one/],
    ['ban mixed with events', { recidive: { event_types: ['ban', 'login_failed'] } }, /^recidive\.event_types: "ban" .* cannot be mixed/],
    ['recidive per site', { recidive: { scope: 'site' } }, /^recidive\.scope: a jail counting bans works across all sites/],
    ['bad scope', { wordpress: { scope: 'planet' } }, /^wordpress\.scope: /],
    ['bad multipliers', { wordpress: { bantime_increment: { multipliers: '1 two 4' } } }, /^wordpress\.bantime_increment\.multipliers: "1 two 4" is not a list/],
    ['negative multiplier', { wordpress: { bantime_increment: { multipliers: [1, -2] } } }, /^wordpress\.bantime_increment\.multipliers: .*positive/],
    ['factor below 1', { wordpress: { bantime_increment: { factor: 0.5 } } }, /^wordpress\.bantime_increment\.factor: must be at least 1/],
    ['maxtime below bantime', { wordpress: { bantime_increment: { maxtime: '10m' } } }, /^wordpress\.bantime_increment\.maxtime: is shorter than bantime/],
    ['unknown key', { wordpress: { max_retry: 3 } }, /^wordpress: Unrecognized key: "max_retry"/],
    ['bad jail name', { 'My Jail': { enabled: false } }, /^My Jail: jail names use only a-z/],
    ['reserved name', { manual: { event_types: ['login_failed'], maxretry: 1, findtime: 60, bantime: 60 } }, /^manual: "manual" is reserved/],
    ['new jail missing fields', { mine: { maxretry: 3 } }, /^mine\.event_types: is required.*mine\.findtime: is required.*mine\.bantime: is required/],
    ['not a map', ['wordpress'], /expected record/],
  ];
  for (const [name, input, message] of cases) {
    await t.test(name, () => {
      const result = jailsConfigSchema.safeParse(input);
      assert.equal(result.success, false);
      assert.match(describeZodError(result.error!), message);
    });
  }
});
