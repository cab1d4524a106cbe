// The admin token guards every admin route: a token file that is empty or white space
// must stop the service, not open the API to anyone who sends a blank bearer.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config/load.ts';
import { ADMIN_TOKEN, startService, tempDir } from '../support/service.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from '../support/process.ts';

// Asynchronous, so the service under test here keeps its event loop free while it runs.
async function runCliAsync(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['server/bin/edgejail.js', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let svc: Awaited<ReturnType<typeof startService>>;
before(async () => {
  svc = await startService();
});
after(async () => svc.close());

const configWithTokenFile = (dir: string) => loadConfig({ EDGEJAIL_DATA_DIR: dir }, { log_level: 'silent' });

for (const [name, content] of [
  ['empty', ''],
  ['a newline', '\n'],
  ['spaces and a no-break space', '   \u00a0\n'],
  ['a short token', 'short-token\n'],
  ['a token with a space inside', 'abcdefghijkl mnopqrstuvwxyz0123\n'],
] as const) {
  test(`an admin-token file holding ${name} stops start-up with a message naming the file`, async () => {
    const tmp = tempDir();
    try {
      writeFileSync(join(tmp.dir, 'admin-token'), content, { mode: 0o600 });
      await assert.rejects(buildApp(configWithTokenFile(tmp.dir)), (error: Error) => {
        assert.equal(error.name, 'ConfigError');
        assert.match(error.message, /admin-token/);
        return true;
      });
    } finally {
      tmp.cleanup();
    }
  });
}

test('the service refuses to start on an empty token file: exit 78 and a message, no stack trace', async () => {
  const tmp = tempDir();
  try {
    writeFileSync(join(tmp.dir, 'admin-token'), ' \n', { mode: 0o600 });
    const r = await runCliAsync(['serve'], { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_PORT: '0' });
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, /admin token in .*admin-token .*at least 24/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  } finally {
    tmp.cleanup();
  }
});

test('EDGEJAIL_ADMIN_TOKEN of white space is refused too', async () => {
  const tmp = tempDir();
  try {
    assert.throws(() => loadConfig({ EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ' '.repeat(30) }), /admin_token/);
  } finally {
    tmp.cleanup();
  }
});

test('a token file with the token and a line ending works, the line ending is not part of the token', async () => {
  const tmp = tempDir();
  try {
    writeFileSync(join(tmp.dir, 'admin-token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
    const app = await buildApp(configWithTokenFile(tmp.dir), { backgroundJobs: false });
    try {
      const ok = await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(ok.statusCode, 200, ok.body);
    } finally {
      await app.close();
    }
  } finally {
    tmp.cleanup();
  }
});

for (const [name, authorization] of [
  ['blank bearer', 'Bearer \u00a0'],
  ['bearer of spaces', 'Bearer    '],
  ['the token with a trailing space', `Bearer ${ADMIN_TOKEN} `],
  ['the token with a leading space', `Bearer  ${ADMIN_TOKEN}`],
  ['the token with a no-break space after it', `Bearer ${ADMIN_TOKEN}\u00a0`],
  ['the token cut short', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
] as const) {
  test(`the token a client sends is never trimmed: ${name} is 401`, async () => {
    const res = await svc.app.inject({ method: 'GET', url: '/v1/bans', headers: { authorization } });
    assert.equal(res.statusCode, 401, res.body);
  });
}

test('the exact token opens the admin API', async () => {
  const res = await svc.app.inject({ method: 'GET', url: '/v1/bans', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.statusCode, 200);
});
