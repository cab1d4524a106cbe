// Issue row bans_200k_rss_mb: the service holding 200,000 active bans, seeded into its
// SQLite file before start. Measures its resident memory (peak, from the kernel's
// high-water mark) after start-up and a round of ingest from banned addresses, and how
// long it took from spawn to answering /healthz (the start-up restore): in wall-clock
// seconds, and in CPU seconds the process had used by then, which a shared machine's
// load moves far less.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildService, runCli, startServiceProcess } from '../../test/support/process.ts';
import { attempt, signedHeaders, tempDir } from '../../test/support/service.ts';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { round } from '../lib/stats.ts';

const JAILS = ['wordpress', 'blocked_username', 'wordpress_probe', 'recidive'];
const ipOf = (i: number) => `${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.${1 + (i % 200)}`;

/** User plus system CPU seconds the process has used so far (all its threads). */
export function procCpuSeconds(pid: number): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  const ticksPerSecond = 100; // USER_HZ: 100 on every Linux ABI Node runs on
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

export function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
}

/** Writes `count` active bans through the store, as if jails had decided them over the last hour. */
export function seedBans(file: string, count: number): void {
  const db = openDatabase(file);
  const store = createStore(db);
  const nowMs = Date.now();
  store.transaction(() => {
    for (let i = 0; i < count; i++) {
      const createdMs = nowMs - 3_600_000 + Math.floor((i / count) * 3_500_000);
      const jail = JAILS[i % JAILS.length]!;
      store.insertBan({
        ip_key: ipOf(i),
        jail,
        reason: `5 failures (login_failed×5) in 10m`,
        trigger_event_ids: '[]',
        ban_count: 1,
        created_at: new Date(createdMs).toISOString(),
        expires_at: new Date(createdMs + 86_400_000 * (1 + (i % 7))).toISOString(),
      });
    }
  });
  db.close();
}

export async function bans200kSection(count = 200_000) {
  const tmp = tempDir('edgejail-bench-');
  const env = { EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef', EDGEJAIL_LOG_LEVEL: 'error' };
  try {
    const add = runCli(['site', 'add', 'bench', '--json'], env);
    if (add.status !== 0) throw new Error(add.stderr);
    const site = JSON.parse(add.stdout) as { id: string; secret: string };
    seedBans(join(tmp.dir, 'edgejail.db'), count);
    // The bundle is built before the clock starts: start-up is the service's, not esbuild's.
    buildService();
    const started = process.hrtime.bigint();
    const svc = await startServiceProcess(env, { production: true });
    const startupSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const startupCpuSeconds = procCpuSeconds(svc.child.pid!);
    try {
      // Events from banned addresses: each batch looks up every IP's ban.
      let banned = 0;
      for (let b = 0; b < 40; b++) {
        const events = Array.from({ length: 50 }, (_, k) => attempt(ipOf((b * 4_999 + k * 97) % count)));
        const body = JSON.stringify({ events });
        const res = await fetch(`${svc.url}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body });
        if (!res.ok) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
        banned += ((await res.json()) as { decisions: unknown[] }).decisions.length;
      }
      if (banned === 0) throw new Error('no ingest decision reported a seeded ban');
      const status = (await (await fetch(`${svc.url}/v1/status`, { headers: { authorization: `Bearer ${env.EDGEJAIL_ADMIN_TOKEN}` } })).json()) as { bans: { active?: number } };
      if (status.bans.active !== count) throw new Error(`expected ${count} active bans, the service reports ${status.bans.active}`);
      return {
        bans_200k_rss_mb: round(procStatusMb(svc.child.pid!, 'VmHWM')),
        bans_200k_rss_now_mb: round(procStatusMb(svc.child.pid!, 'VmRSS')),
        bans_200k_startup_seconds: round(startupSeconds, 2),
        bans_200k_startup_cpu_seconds: round(startupCpuSeconds, 2),
      };
    } finally {
      await svc.stop();
    }
  } finally {
    tmp.cleanup();
  }
}
