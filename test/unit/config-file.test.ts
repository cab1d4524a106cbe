// The config file is JSON or YAML, by its name; the YAML parser is loaded only for YAML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../server/config/load.ts';
import { tempDir } from '../support/service.ts';

test('a YAML config file is read, durations and all', () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgejail.yaml');
    writeFileSync(file, 'port: 9999\njails:\n  wordpress: { maxretry: 3, findtime: 2m, bantime: 2h }\n');
    const config = loadConfig({ EDGEJAIL_CONFIG: file, EDGEJAIL_DATA_DIR: tmp.dir });
    assert.equal(config.port, 9999);
    assert.equal(config.jails.wordpress!.maxretry, 3);
    assert.equal(config.jails.wordpress!.findtime, 120);
  } finally {
    tmp.cleanup();
  }
});

test('a broken YAML file stops start-up with a message naming it', () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgejail.yml');
    writeFileSync(file, 'port: [1, 2\n');
    assert.throws(() => loadConfig({ EDGEJAIL_CONFIG: file, EDGEJAIL_DATA_DIR: tmp.dir }), (error: Error) => error instanceof ConfigError && /edgejail\.yml is not valid YAML/.test(error.message));
  } finally {
    tmp.cleanup();
  }
});
