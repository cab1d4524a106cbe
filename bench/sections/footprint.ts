// Issue 14's footprint rows. `rss_idle_mb`: the service as `npm start` runs it, 10 s after it
// answers /healthz with no traffic. `cli_bans_ms`: `edgejail bans` on a database of 10,000
// active bans, process start to exit, as a new user runs it (p50 of 7 runs after a warm-up).
// `jail_window_bytes_per_key`: the jail engine's memory (JS heap and its typed-array slots) per
// tracked IP key over 100,000 keys (bench/load/jail-window-memory.ts, in a process of its own
// with --expose-gc).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, startServiceProcess } from '../../test/support/process.ts';
import { tempDir } from '../../test/support/service.ts';
import { median, round } from '../lib/stats.ts';
import { procStatusMb, seedBans } from './bans-200k.ts';

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

async function idleRss(): Promise<number> {
  const tmp = tempDir('edgejail-bench-idle-');
  const svc = await startServiceProcess({ EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN, EDGEJAIL_LOG_LEVEL: 'error' }, { production: true });
  try {
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    return procStatusMb(svc.child.pid!, 'VmRSS');
  } finally {
    await svc.stop();
    tmp.cleanup();
  }
}

function cliBansMs(runs: number): number {
  const tmp = tempDir('edgejail-bench-cli-');
  try {
    seedBans(join(tmp.dir, 'edgejail.db'), 10_000);
    const env = { ...process.env, EDGEJAIL_DATA_DIR: tmp.dir, EDGEJAIL_ADMIN_TOKEN: ADMIN_TOKEN };
    const once = () => {
      const started = performance.now();
      const r = spawnSync(process.execPath, ['server/bin/edgejail.js', 'bans'], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const ms = performance.now() - started;
      if (r.status !== 0) throw new Error(`edgejail bans exited ${r.status}: ${r.stderr}`);
      return ms;
    };
    once(); // warm-up: the file cache, as for anyone's second call
    return median(Array.from({ length: runs }, once));
  } finally {
    tmp.cleanup();
  }
}

function jailWindowBytesPerKey(keys: number): number {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/load/jail-window-memory.ts', String(keys)], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`jail-window-memory exited ${r.status}: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim()) as { bytes_per_key: number }).bytes_per_key;
}

export async function footprintSection(runs: number) {
  const idle = [];
  for (let i = 0; i < runs; i++) idle.push(await idleRss());
  const windowBytes = Array.from({ length: runs }, () => jailWindowBytesPerKey(100_000));
  return { rss_idle_mb: round(median(idle)), cli_bans_ms: round(cliBansMs(7)), jail_window_bytes_per_key: median(windowBytes) };
}
