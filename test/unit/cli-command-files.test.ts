import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commandsIn } from '../../server/cli.ts';

// `edgejail <words>` imports only the files its words can name, so a command must live in a
// file named by its first word or words joined with '-'. One that did not would still run
// (the dispatcher falls back to loading every file), but slowly, and only this test would say why.
const DIR = new URL('../../server/cli/commands/', import.meta.url);

test('every command lives in a file named by its leading words', async () => {
  const files = readdirSync(fileURLToPath(DIR)).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10);
  for (const file of files) {
    const stem = file.replace(/\.ts$/, '');
    for (const command of await commandsIn(file)) {
      const words = command.name.split(' ');
      const prefixes = words.map((_, i) => words.slice(0, i + 1).join('-'));
      assert.ok(prefixes.includes(stem), `cli/commands/${file} defines "${command.name}": name the file ${prefixes.join(' or ')}.ts`);
    }
  }
});
