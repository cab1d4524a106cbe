import { denseBenchIp } from '/work/wt/enforce/bench/lib/addresses.ts';
import { startFakeCloudflare } from '/work/wt/enforce/test/fake-cloudflare/server.ts';
import { ADMIN_TOKEN, startStoryService } from '/work/wt/enforce/test/e2e/support/edgejail-service.ts';
import { failedLogins, postEvents } from '/work/wt/enforce/bench/lib/events.ts';
import { sleep } from '/work/wt/enforce/test/e2e/support/poll.ts';
const networks = Number(process.env.N ?? 3), perNetwork = 256;
const fake = await startFakeCloudflare();
const service = await startStoryService({ backend: 'list', fake, jails: { wordpress: { maxretry: 5, findtime: '10m', bantime: '1h' } }, cloudflare: { list_capacity: 10000 }, overload: { max_new_bans_per_site_per_minute: 1_000_000 } });
try {
  const addresses = Array.from({ length: networks * perNetwork }, (_, i) => denseBenchIp(Math.floor(i / perNetwork), i % perNetwork));
  const events = Array.from({ length: 6 }, () => failedLogins(addresses)).flat();
  const batches = Array.from({ length: Math.ceil(events.length / 500) }, (_, i) => events.slice(i * 500, (i + 1) * 500));
  let next = 0; const t0 = Date.now();
  await Promise.all(Array.from({ length: 4 }, async () => { while (next < batches.length) await postEvents(service.url, service.site, batches[next++]!); }));
  console.log('sent in', (Date.now() - t0) / 1000);
  for (let t = 0; t < Number(process.env.T ?? 60); t++) {
    const res = await fetch(`${service.url}/v1/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const s = (await res.json()) as any; if (!s.cloudflare) { console.log(t*5, 'status', res.status); await sleep(5000); continue; }
    const items = fake.listItems('edgejail_blocked');
    const ranges = items.filter((i: any) => i.ip.includes('/'));
    console.log(t*5, s.cloudflare.lastError, JSON.stringify(s.cloudflare.placements), 'items', items.length, 'rangeItems', ranges.length, 'outbox', s.cloudflare.outboxDepth, 'rules', fake.accessRules('account').length, 'rangeRules', fake.accessRules('account').filter((r: any) => r.configuration.target === 'ip_range').length, 'calls', fake.calls.length, '429', fake.calls.filter((c) => c.status === 429).length);
    await sleep(5000);
  }
} finally { await service.dispose(); await fake.close(); }
