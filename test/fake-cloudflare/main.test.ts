// `npm run fake-cloudflare` as another process would use it: options from the environment, the
// baseURL on stdout, the API and the control endpoints over HTTP, a clean exit on SIGTERM.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import Cloudflare from 'cloudflare';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

it('runs standalone with options from the environment and stops on SIGTERM', async () => {
  const accountId = 'abcdefabcdefabcdefabcdefabcdef01';
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, FAKE_CF_PORT: '0', FAKE_CF_TOKEN: 'standalone-token', FAKE_CF_ACCOUNT_ID: accountId },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    const baseURL = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const m = /baseURL:\s+(\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    assert.match(baseURL, /^http:\/\/127\.0\.0\.1:\d+\/client\/v4$/);
    assert.match(out, new RegExp(`account id:\\s+${accountId}`));

    const cf = new Cloudflare({ apiToken: 'standalone-token', baseURL, maxRetries: 0, timeout: 2000 });
    await cf.firewall.accessRules.create({ account_id: accountId, mode: 'block', configuration: { target: 'ip', value: '192.0.2.33' } });
    const root = baseURL.replace(/\/client\/v4$/, '');
    const blocked = (await (await fetch(`${root}/__fake/blocked?ip=192.0.2.33`)).json()) as { blocked: boolean };
    assert.equal(blocked.blocked, true);
  } finally {
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    }
  }
});
