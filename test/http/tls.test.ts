// The service's own TLS (tls.cert / tls.key): every listener speaks HTTPS with the
// configured certificate, and a bad or unreadable file stops start-up naming it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { buildApp } from '../../server/app.ts';
import { ConfigError } from '../../server/config/load.ts';
import { listen } from '../../server/http/listeners.ts';
import { freePort } from '../support/process.ts';
import { ADMIN_TOKEN, addSite, attempt, signedHeaders, tempDir, testConfig } from '../support/service.ts';

const certs = tempDir('edgejail-tls-');
let cert: string;
let key: string;
let otherKey: string;

function selfSigned(name: string): { cert: string; key: string } {
  const certFile = join(certs.dir, `${name}.crt`);
  const keyFile = join(certs.dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
  return { cert: certFile, key: keyFile };
}

before(() => {
  ({ cert, key } = selfSigned('service'));
  otherKey = selfSigned('other').key;
});
after(() => certs.cleanup());

interface Answer {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer }): Promise<Answer> {
  const target = new URL(url);
  const make = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = make(target, { method: options.method ?? 'GET', headers: options.headers, ...(options.ca && { ca: options.ca }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

test('with tls.cert and tls.key, ingest, admin and metrics listeners all serve HTTPS with that certificate', async () => {
  const tmp = tempDir();
  const [adminPort, metricsPort] = [await freePort(), await freePort()];
  const config = testConfig(tmp.dir, { port: 0, tls: { cert, key }, admin: { host: '127.0.0.1', port: adminPort }, metrics: { listen: `127.0.0.1:${metricsPort}` } });
  const app = await buildApp(config, { backgroundJobs: false });
  try {
    await app.ready();
    const site = addSite(app);
    const addresses = await listen(app, app.listenerPlan, config);
    assert.equal(addresses.length, 3, addresses.join(' '));
    for (const address of addresses) assert.match(address, /^https:\/\//, `listed as https: ${address}`);
    const main = `https://127.0.0.1:${new URL(addresses[0]!).port}`;
    const ca = readFileSync(cert);

    const body = JSON.stringify({ events: [attempt('203.0.113.70')] });
    const ingest = await send(`${main}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body, ca });
    assert.equal(ingest.status, 200, ingest.body);
    const admin = await send(`https://127.0.0.1:${adminPort}/v1/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ca });
    assert.equal(admin.status, 200, admin.body);
    const metrics = await send(`https://127.0.0.1:${metricsPort}/metrics`, { ca });
    assert.equal(metrics.status, 200, metrics.body);

    // The client checks the certificate: without trusting it, the handshake is refused.
    await assert.rejects(send(`${main}/healthz`, {}), /self[- ]signed|certificate/i);
    // Plain HTTP to a TLS port gets no answer from the app.
    const plain = await send(`http://127.0.0.1:${new URL(main).port}/healthz`, {}).catch((error: Error) => error);
    assert.ok(plain instanceof Error || plain.status === 400, 'plain HTTP is not served');
  } finally {
    await app.close();
    tmp.cleanup();
  }
});

const broken: Array<[string, () => { cert: string; key: string }, RegExp]> = [
  ['a missing certificate file', () => ({ cert: join(certs.dir, 'absent.crt'), key }), /tls\.cert .*absent\.crt cannot be read: ENOENT/],
  ['a missing key file', () => ({ cert, key: join(certs.dir, 'absent.key') }), /tls\.key .*absent\.key cannot be read: ENOENT/],
  ['a certificate file that is not PEM', () => {
    const file = join(certs.dir, 'garbage.crt');
    writeFileSync(file, 'not a certificate\n');
    return { cert: file, key };
  }, /tls\.cert .*garbage\.crt holds no PEM certificate/],
  ['the key given as the certificate', () => ({ cert: key, key }), /tls\.cert .*service\.key holds no PEM certificate/],
  ['a key that does not belong to the certificate', () => ({ cert, key: otherKey }), /tls\.cert .*service\.crt and tls\.key .*other\.key cannot be used together/],
];

for (const [name, files, message] of broken) {
  test(`${name} stops start-up with a ConfigError naming it`, async () => {
    const tmp = tempDir();
    try {
      const config = testConfig(tmp.dir, { port: 0, tls: files() });
      await assert.rejects(buildApp(config, { backgroundJobs: false }), (error: Error) => {
        assert.ok(error instanceof ConfigError, `a ConfigError, got ${error.name}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
    } finally {
      tmp.cleanup();
    }
  });
}

test('a tls section without both files is refused by the config schema', () => {
  const tmp = tempDir();
  try {
    assert.throws(() => testConfig(tmp.dir, { tls: { cert } }), (error: Error) => error instanceof ConfigError && /tls\.key/.test(error.message));
  } finally {
    tmp.cleanup();
  }
});
