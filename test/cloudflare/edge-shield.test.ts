// The e2e suite's stand-in edge, taught the login shield: the rules the placement puts at the
// fake Cloudflare (through the real SDK) challenge or block matching requests before they
// reach an origin, a clearance cookie passes a challenge, and an expression of another shape
// is never evaluated (reported instead). The origin here is a plain HTTP server that counts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHarness, type Harness } from './support.ts';
import { createStore } from '../../server/store/store.ts';
import { createShieldService, type ShieldService } from '../../server/shield/shield-service.ts';
import { shieldConfigSchema } from '../../server/shield/config.ts';
import { createShieldStore } from '../../server/store/shields.ts';
import { CLEARANCE_COOKIE, CLIENT_IP_HEADER, shieldRulesFromFake, startEdgeProxy, type EdgeProxy } from '../e2e/edge-proxy.ts';
import { parseShieldExpression, shieldVerdict } from '../e2e/shield-match.ts';
import { shieldExpression } from '../../server/cloudflare/shield-rules.ts';

const SITE = '5b0c7d1e-0000-4000-8000-0000000000bb';
const HOST = 'shop.example.com';
let h: Harness;
let service: ShieldService;
let origin: Server;
let edge: EdgeProxy;
const reachedOrigin: string[] = [];
const unknown: string[] = [];

before(async () => {
  h = await createHarness();
  const store = createStore(h.db);
  store.insertSite({ id: SITE, name: 'shop', secret: 's'.repeat(43), created_at: new Date().toISOString() });
  createShieldStore(h.db).setSiteZone(SITE, { zone_id: h.fake.zoneId, hostname: HOST });
  service = createShieldService({ db: h.db, store, config: shieldConfigSchema.parse({}), defaultZoneId: null, now: Date.now, onShieldChange: () => h.enforcers.forEach((e) => e.wake()) });
  origin = createServer((req, res) => {
    reachedOrigin.push(`${req.method} ${req.url}`);
    req.resume();
    res.end('origin');
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const port = (origin.address() as AddressInfo).port;
  edge = await startEdgeProxy({
    origin: `http://127.0.0.1:${port}`,
    isBlocked: (ip) => h.fake.isBlocked(ip),
    shieldRules: shieldRulesFromFake(h.fake.url),
    siteHost: HOST,
    clearances: new Set(['human-solved-it']),
    sourceAddress: '127.0.0.1',
    onUnknownRule: (rule) => unknown.push(rule.id),
  });
});
after(async () => {
  await edge.close();
  await new Promise((resolve) => origin.close(resolve));
  await h.close();
});

const send = (method: string, path: string, cookie?: string) =>
  fetch(`${edge.url}${path}`, { method, headers: { [CLIENT_IP_HEADER]: '198.51.100.7', ...(cookie ? { cookie } : {}) }, ...(method === 'POST' ? { body: 'log=a&pwd=b' } : {}) });

describe('the edge and the login shield', () => {
  it('only our exact expression shape is understood', () => {
    assert.deepEqual(parseShieldExpression(shieldExpression(HOST, 'login')), { host: HOST, method: 'POST', pathContains: '/wp-login.php' });
    assert.equal(parseShieldExpression(`${shieldExpression(HOST, 'login')} or true`), null);
    assert.equal(parseShieldExpression('(http.host eq "shop.example.com" and http.request.method eq "GET" and http.request.uri.path contains "/wp-login.php")'), null);
    assert.equal(shieldVerdict([{ id: 'x', action: 'block', expression: 'ip.src eq 198.51.100.7', enabled: true }], { host: HOST, method: 'POST', path: '/wp-login.php' }), null);
  });

  it('with the shield up, a login POST is challenged unless it carries the clearance, XML-RPC is blocked, reading pages passes; a foreign rule is not evaluated', async () => {
    const foreign = h.fake.addForeignCustomRule({ action: 'block', expression: 'ip.src.country eq "XX"', description: 'owner: block XX' });
    const enforcer = await h.startEnforcer();
    assert.equal((await send('POST', '/wp-login.php')).status, 200, 'no shield yet: the origin answers');

    service.raise(SITE, { durationSeconds: 600, reason: 'test', actor: 'admin:test' });
    await h.settle(enforcer);
    reachedOrigin.length = 0;

    const bot = await send('POST', '/wp-login.php');
    assert.equal(bot.status, 403);
    assert.equal(bot.headers.get('cf-mitigated'), 'challenge');
    const blog = await send('POST', '/blog/wp-login.php?redirect_to=x');
    assert.equal(blog.headers.get('cf-mitigated'), 'challenge');
    const xmlrpc = await send('POST', '/xmlrpc.php');
    assert.equal(xmlrpc.status, 403);
    assert.equal(xmlrpc.headers.get('cf-mitigated'), null, 'a block, not a challenge');
    const wrongCookie = await send('POST', '/wp-login.php', `${CLEARANCE_COOKIE}=guessed`);
    assert.equal(wrongCookie.headers.get('cf-mitigated'), 'challenge');
    assert.deepEqual(reachedOrigin, [], 'nothing of that reached the origin');

    assert.equal((await send('POST', '/wp-login.php', `a=b; ${CLEARANCE_COOKIE}=human-solved-it`)).status, 200);
    assert.equal((await send('GET', '/wp-login.php')).status, 200);
    assert.deepEqual(reachedOrigin, ['POST /wp-login.php', 'GET /wp-login.php']);
    assert.deepEqual(unknown, [foreign.id]);

    service.lower(SITE, 'admin:test');
    await h.settle(enforcer);
    assert.equal((await send('POST', '/wp-login.php')).status, 200, 'the shield is down: the origin answers again');
    assert.equal((await send('POST', '/xmlrpc.php')).status, 200);
  });
});
