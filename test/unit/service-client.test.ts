// The CLI finds the admin API where the service listens for it: by the listener plan, so a
// public ingest host never sends `edgejail status` to ingest, where admin routes are 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../server/config/schema.ts';
import { adminBaseUrl } from '../../server/cli/service-client.ts';

const config = (input: Record<string, unknown>) => configSchema.parse(input);

test('admin beside a loopback ingest listener: the main address', () => {
  assert.equal(adminBaseUrl(config({ host: '127.0.0.1', port: 9100 })), 'http://127.0.0.1:9100');
});

test('admin on its own listener: admin.host and admin.port', () => {
  assert.equal(adminBaseUrl(config({ host: '127.0.0.1', port: 9100, admin: { port: 9101 } })), 'http://127.0.0.1:9101');
  assert.equal(adminBaseUrl(config({ port: 9100, admin: { host: '::1', port: 9101 } })), 'http://[::1]:9101');
});

test('ingest on a public address and no admin.port: the admin listener the service moves to, not ingest', () => {
  assert.equal(adminBaseUrl(config({ host: '0.0.0.0', port: 9100 })), 'http://127.0.0.1:8788');
  assert.equal(adminBaseUrl(config({ host: '0.0.0.0', port: 9100, admin: { host: '0.0.0.0', port: 9101 } })), 'http://127.0.0.1:9101', 'a wildcard is reached on loopback');
});
