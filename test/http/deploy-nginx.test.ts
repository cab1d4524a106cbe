// contrib/nginx/edgejail.conf in a real nginx in front of a real service: the plugin's two
// routes pass through TLS, nothing else of the service is reachable through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { adminHeaders, attempt, signedHeaders, startService } from '../support/service.ts';
import { ROOT, freePort } from '../support/process.ts';

let svc: Awaited<ReturnType<typeof startService>>;
let nginx: ChildProcess | undefined;
let nginxLog = '';
let port = 0;
let ca: Buffer;

function nginxConfig(dir: string, servicePort: number): string {
  const site = readFileSync(join(ROOT, 'contrib/nginx/edgejail.conf'), 'utf8')
    .replace('server 127.0.0.1:8787;', `server 127.0.0.1:${servicePort};`)
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace(/^\s*listen \[::\]:443 ssl;\n/m, '')
    .replace('/etc/letsencrypt/live/edgejail.example.com/fullchain.pem', join(dir, 'cert.pem'))
    .replace('/etc/letsencrypt/live/edgejail.example.com/privkey.pem', join(dir, 'key.pem'))
    .replaceAll('/etc/nginx/snippets/edgejail-proxy.conf', join(ROOT, 'contrib/nginx/edgejail-proxy.conf'))
    .replace('/var/log/nginx/edgejail.access.log', join(dir, 'access.log'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`).join('\n');
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} warn;\nevents {}\nhttp {\n${temp}\n${site}\n}\n`;
}

before(async () => {
  const deps = spawnSync('bash', [join(ROOT, 'scripts/nginx-deps.sh')], { encoding: 'utf8' });
  assert.equal(deps.status, 0, `installing nginx: ${deps.stderr}`);
  svc = await startService();
  await svc.app.listen({ host: '127.0.0.1', port: 0 });
  const servicePort = (svc.app.server.address() as { port: number }).port;
  const dir = join(svc.dir, 'nginx');
  mkdirSync(dir);
  const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=edgejail.example.com',
    '-addext', 'subjectAltName=DNS:edgejail.example.com', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  assert.equal(cert.status, 0, cert.stderr);
  ca = readFileSync(join(dir, 'cert.pem'));
  port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, servicePort));
  const check = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  assert.doesNotMatch(check.stderr, /\[(warn|emerg|alert)\]/, check.stderr);
  nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stderr!.on('data', (d) => (nginxLog += d));
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${nginxLog}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (open) break;
    await new Promise((r) => setTimeout(r, 20));
  }
});

after(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((r) => nginx!.once('exit', r));
    nginx.kill('SIGTERM');
    await exited;
  }
  await svc?.close();
});

function https(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: 'edgejail.example.com', ca, method, path, headers: { host: 'edgejail.example.com', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('signed events and the range refresh pass through TLS to the service', async () => {
  const body = JSON.stringify({ events: [attempt('203.0.113.90')] });
  const events = await https('POST', '/v1/events', signedHeaders(svc.site, body), body);
  assert.equal(events.status, 200, events.body);
  assert.equal(JSON.parse(events.body).accepted, 1);
  const ranges = await https('GET', '/v1/cloudflare-ranges', signedHeaders(svc.site, ''));
  assert.equal(ranges.status, 200, ranges.body);
});

test('the dashboard, the admin API, docs and metrics are not reachable through the proxy', async () => {
  for (const path of ['/dashboard', '/v1/status', '/v1/bans', '/docs', '/openapi.json', '/metrics', '/v1/events/../status']) {
    const res = await https('GET', path, adminHeaders);
    assert.equal(res.status, 404, `${path}: ${res.status}`);
  }
  const wrongMethod = await https('GET', '/v1/events');
  assert.equal(wrongMethod.status, 403);
});

test('a body over the service\'s 256 KiB limit is refused by nginx already', async () => {
  const big = Buffer.alloc(300 * 1024, 'a');
  const res = await https('POST', '/v1/events', { 'content-type': 'application/json' }, big);
  assert.equal(res.status, 413);
});
