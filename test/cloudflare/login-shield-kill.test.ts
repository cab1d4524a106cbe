// kill -9 while the login shield's rule is on its way to Cloudflare: the real service as a
// process, the fake Cloudflare in this one. The create lands at Cloudflare but its answer is
// lost, and the service dies before its retry; the restarted one finishes the job from the
// outbox and finds the landed rule by its tag: one rule per part.
import { test, after } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { startFakeCloudflare } from '../fake-cloudflare/server.ts';
import { ADMIN_TOKEN, tempDir } from '../support/service.ts';
import { runCli, startServiceProcess } from '../support/process.ts';
import { parseShieldTag } from '../../server/cloudflare/shield-rules.ts';

const tmp = tempDir('edgejail-shield-kill-');
after(() => tmp.cleanup());

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 3_000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

test('kill -9 with the shield rule in flight: after the restart the rules are there once each, the owner’s rule untouched', async () => {
  const fake = await startFakeCloudflare();
  try {
    const foreign = fake.addForeignCustomRule({ action: 'block', expression: 'ip.src.country eq "XX"', description: 'owner: block XX' });
    // A retry a few seconds out leaves room to kill the service between the lost answer and the retry.
    const configFile = join(tmp.dir, 'edgejail.json');
    writeFileSync(configFile, JSON.stringify({ cloudflare: { retry: { base_ms: 4_000, max_ms: 4_000 } } }));
    const env = {
      EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_CONFIG: configFile, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN,
      CLOUDFLARE_API_TOKEN: fake.token, CLOUDFLARE_ACCOUNT_ID: fake.accountId, CLOUDFLARE_BASE_URL: fake.baseURL, CLOUDFLARE_ZONE_ID: fake.zoneId,
    };
    const added = runCli(['site', 'add', 'shop', '--host', 'shop.example.com', '--json'], env);
    assert.equal(added.status, 0, added.stderr);
    const site = JSON.parse(added.stdout) as { id: string };

    // The first rule's create is made, and its answer never arrives.
    fake.injectFault({ kind: 'drop_response', times: 1, match: { method: 'POST', pathIncludes: '/rulesets/' } });
    const dbFile = join(tmp.dir, 'edgejail.db');
    const read = <T>(sql: string, ...args: unknown[]): T[] => {
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...args) as T[];
      } finally {
        db.close();
      }
    };
    const rowStates = () => read<{ state: string }>('SELECT state FROM shield_rules WHERE site_id = ? ORDER BY part', site.id).map((r) => r.state);
    const outboxDepth = () => read<{ n: number }>('SELECT count(*) AS n FROM enforcement_outbox')[0]!.n;
    let svc = await startServiceProcess(env);
    const up = await fetch(`${svc.url}/v1/sites/${site.id}/shield`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ duration: '1h', reason: 'kill -9 test' }),
    });
    assert.equal(up.status, 201, await up.text());
    await until('the create made and its answer lost', () => fake.callCount({ method: 'POST', pathIncludes: '/rulesets/' }) >= 1 && rowStates().includes('failed'));
    assert.equal(fake.customRules('zone').filter((r) => parseShieldTag(r.description)?.siteId === site.id).length, 1, 'the create landed');
    await svc.stop('SIGKILL');

    svc = await startServiceProcess(env);
    try {
      const ours = () => fake.customRules('zone').filter((r) => parseShieldTag(r.description)?.siteId === site.id);
      await until('both rules placed and stored', () => rowStates().join() === 'active,active' && outboxDepth() === 0);
      const parts = ours().map((r) => parseShieldTag(r.description)!.part).sort();
      assert.deepEqual(parts, ['login', 'xmlrpc'], 'one rule per part: the landed create was found by its tag, not made again');
      const stored = read<{ rule_id: string }>('SELECT rule_id FROM shield_rules WHERE site_id = ? ORDER BY part', site.id).map((r) => r.rule_id);
      assert.deepEqual(new Set(stored), new Set(ours().map((r) => r.id)));
      assert.equal(fake.customRules('zone')[0]!.id, foreign.id);
      assert.equal(fake.customRules('zone')[0]!.description, 'owner: block XX');
      assert.equal(fake.callCount({ method: 'PUT' }), 0);
    } finally {
      await svc.stop();
    }
  } finally {
    await fake.close();
  }
});
