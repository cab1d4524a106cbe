// scripts/send-event.sh as the Quick start uses it: the secret never on a command line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService } from '../support/service.ts';
import { ROOT } from '../support/process.ts';

const svc = await startService();
await svc.app.listen({ host: '127.0.0.1', port: 0 });
after(() => svc.close());
const url = `http://127.0.0.1:${(svc.app.server.address() as { port: number }).port}`;

// Every program the script starts is logged with its arguments, as `ps` would show them.
const shims = join(svc.dir, 'shims');
const argvLog = join(svc.dir, 'argv.log');
mkdirSync(shims);
for (const program of ['curl', 'node', 'openssl']) {
  const real = spawnSync('bash', ['-c', `command -v ${program} || true`], { encoding: 'utf8' }).stdout.trim();
  if (!real) continue;
  writeFileSync(join(shims, program), `#!/bin/sh\nprintf '%s ' ${program} "$@" >> '${argvLog}'\necho >> '${argvLog}'\nexec '${real}' "$@"\n`);
  chmodSync(join(shims, program), 0o755);
}

// Asynchronous: the service answering the script runs in this process.
function send(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', [join(ROOT, 'scripts/send-event.sh'), ...args], {
    env: { PATH: `${shims}:${process.env.PATH}`, EDGEJAIL_URL: url, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

test('the secret comes from EDGEJAIL_SECRET and appears in no program\'s arguments', async () => {
  writeFileSync(argvLog, '');
  const r = await send([svc.site.id, '203.0.113.7', '5'], { env: { EDGEJAIL_SECRET: svc.site.secret } });
  assert.equal(r.status, 0, r.stderr);
  const answer = JSON.parse(r.stdout);
  assert.equal(answer.accepted, 5);
  assert.equal(answer.decisions[0].jail, 'wordpress');
  const logged = readFileSync(argvLog, 'utf8');
  assert.match(logged, /^curl /m, 'the shims saw the calls');
  assert.ok(!logged.includes(svc.site.secret), 'the secret is in no argv');
});

test('without EDGEJAIL_SECRET the secret is read from stdin', async () => {
  writeFileSync(argvLog, '');
  const r = await send([svc.site.id, '203.0.113.8', '1'], { input: `${svc.site.secret}\n` });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).accepted, 1);
  assert.ok(!readFileSync(argvLog, 'utf8').includes(svc.site.secret));
});

test('no secret at all is refused before anything is sent', async () => {
  writeFileSync(argvLog, '');
  const r = await send([svc.site.id, '203.0.113.9']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no secret: set EDGEJAIL_SECRET or pass it on stdin/);
  assert.doesNotMatch(readFileSync(argvLog, 'utf8'), /^curl /m);
});
