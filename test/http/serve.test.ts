// Starting the service as an admin does: a busy port is a sentence, and the access log
// is one line per request.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir, ADMIN_TOKEN } from '../support/service.ts';
import { ROOT, startServiceProcess } from '../support/process.ts';

const tmp = tempDir();
after(() => tmp.cleanup());

/** Starts the service with `env` while another process holds `port`; its exit code and output. */
async function startWithPortTaken(port: number, dataDir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, EDGEJAIL_DATA_DIR: dataDir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

async function holdPort(): Promise<{ port: number; close: () => void }> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  return { port: (holder.address() as { port: number }).port, close: () => holder.close() };
}

test('a second service on a used port says the port is taken, by whom, and starts nothing', async () => {
  const holder = await holdPort();
  try {
    const dataDir = join(tmp.dir, 'second');
    const { code, output } = await startWithPortTaken(holder.port, dataDir, { EDGEJAIL_PORT: String(holder.port) });
    assert.equal(code, 1, output);
    assert.match(output, new RegExp(`^edgejail: cannot listen for ingest on 127\\.0\\.0\\.1:${holder.port}: the port is in use by pid ${process.pid} `, 'm'));
    assert.doesNotMatch(output, /^\s+at /m, 'no stack trace');
    assert.ok(!existsSync(join(dataDir, 'edgejail.db')), 'no database opened, no enforcer started');
  } finally {
    holder.close();
  }
});

test('a used admin or metrics port is found before start-up too, named as that listener', async () => {
  for (const [what, env] of [
    ['admin', (port: number) => ({ EDGEJAIL_ADMIN_PORT: String(port) })],
    ['metrics', (port: number) => ({ EDGEJAIL_METRICS_LISTEN: `127.0.0.1:${port}` })],
  ] as const) {
    const holder = await holdPort();
    try {
      const dataDir = join(tmp.dir, `busy-${what}`);
      const { code, output } = await startWithPortTaken(holder.port, dataDir, { EDGEJAIL_PORT: '0', ...env(holder.port) });
      assert.equal(code, 1, `${what}: ${output}`);
      assert.match(output, new RegExp(`^edgejail: cannot listen for ${what} on 127\\.0\\.0\\.1:${holder.port}: the port is in use by pid ${process.pid} `, 'm'), what);
      assert.doesNotMatch(output, /^\s+at /m, `${what}: no stack trace`);
      assert.ok(!existsSync(join(dataDir, 'edgejail.db')), `${what}: no database opened, no enforcer started`);
    } finally {
      holder.close();
    }
  }
});

test('each request is one line of the log at info; health checks only at debug', async () => {
  const svc = await startServiceProcess({ EDGEJAIL_DATA_DIR: join(tmp.dir, 'log'), EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, EDGEJAIL_LOG_LEVEL: 'info' });
  try {
    type Line = { reqId?: string; url?: string; statusCode?: number; req?: { url: string }; res?: { statusCode: number } };
    const lines = () => svc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
    const urlOf = (l: Line) => l.url ?? l.req?.url;
    const answered = (l: Line) => (l.statusCode ?? l.res?.statusCode) !== undefined;
    await fetch(`${svc.url}/healthz`);
    await fetch(`${svc.url}/no-such-page-1`);
    await fetch(`${svc.url}/v1/bans`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await fetch(`${svc.url}/no-such-page-2`);
    const reqIdOf = (url: string) => lines().find((l) => urlOf(l) === url)?.reqId;
    // Once the last request's answer is logged, every earlier one's is too.
    while (!lines().some((l) => l.reqId !== undefined && l.reqId === reqIdOf('/no-such-page-2') && answered(l))) await new Promise((r) => setTimeout(r, 20));
    for (const url of ['/no-such-page-1', '/v1/bans', '/no-such-page-2']) {
      const mine = lines().filter((l) => l.reqId === reqIdOf(url));
      assert.equal(mine.length, 1, `${url}: ${JSON.stringify(mine)}`);
    }
    assert.equal(reqIdOf('/healthz'), undefined, 'health checks stay out of the info log');
    assert.ok(!svc.output().includes(ADMIN_TOKEN), 'the token is never logged');
  } finally {
    await svc.stop();
  }
});
