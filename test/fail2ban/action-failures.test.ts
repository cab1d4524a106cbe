// The action fails loudly: a bad token or an unreachable service is an error fail2ban logs,
// never a ban it believes placed while EdgeJail has none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.ts';
import { freePort } from '../support/process.ts';
import { tempDir, testConfig } from '../support/service.ts';
import { createFail2ban, ensureFail2ban, waitFor, type Fail2ban } from './harness.ts';

const TIMEOUT = { timeout: 300_000 };
const WRONG_TOKEN = 'wrong-token-but-long-enough-0123456789';
let app: FastifyInstance;
let f2b: Fail2ban;
let tmp: ReturnType<typeof tempDir>;

before(async () => {
  ensureFail2ban();
  tmp = tempDir('edgejail-f2b-fail-');
  app = await buildApp(testConfig(join(tmp.dir, 'data')), { backgroundJobs: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const wrong = join(tmp.dir, 'wrong-token');
  writeFileSync(wrong, `${WRONG_TOKEN}\n`, { mode: 0o600 });
  f2b = createFail2ban(join(tmp.dir, 'f2b'), [
    { name: 'bad-token', action: `edgejail[url="http://127.0.0.1:${port}", tokenfile="${wrong}"]` },
    { name: 'unreachable', action: `edgejail[url="http://127.0.0.1:${await freePort()}", tokenfile="${wrong}", http_timeout=2]` },
  ]);
  await f2b.start();
}, TIMEOUT);

after(async () => {
  await f2b?.stop();
  await app?.close();
  tmp?.cleanup();
});

for (const jail of ['bad-token', 'unreachable']) {
  test(`${jail}: the ban fails in fail2ban's log, EdgeJail has no ban, the token is never logged`, TIMEOUT, async () => {
    const ip = jail === 'bad-token' ? '203.0.113.61' : '203.0.113.62';
    f2b.fail(jail, ip);
    f2b.fail(jail, ip);
    // actionstart (run at the first ban) finds the service unreachable or the token refused.
    await waitFor(() => f2b.serverLog().includes(`ERROR   Failed to execute ban jail '${jail}' action 'edgejail'`) && /Error starting action/.test(f2b.serverLog()));
    assert.equal(app.core.bans.currentBan(ip), null);
    assert.doesNotMatch(f2b.serverLog(), new RegExp(WRONG_TOKEN));
  });
}
