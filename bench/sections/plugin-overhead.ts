// Row 5: what the plugin adds to a failed wp-login.php POST on the real WordPress (nginx +
// php-fpm), service up and service down. scripts/wp-overhead.sh does the measuring (its
// scenarios take turns over several rounds); this section runs it and keeps its figures.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { round } from '../lib/stats.ts';

interface ScenarioRow {
  scenario: string;
  n: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
}

function runOverheadScript(root: string, env: NodeJS.ProcessEnv): Promise<ScenarioRow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, 'scripts/wp-overhead.sh'), '--json'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`scripts/wp-overhead.sh exited ${code}:\n${err.slice(-2000)}`));
      resolve(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as ScenarioRow));
    });
  });
}

function pick(rows: ScenarioRow[], test: (name: string) => boolean, what: string): ScenarioRow {
  const row = rows.find((r) => test(r.scenario));
  if (!row) throw new Error(`wp-overhead.sh printed no "${what}" scenario: ${rows.map((r) => r.scenario).join(', ')}`);
  return row;
}

export async function pluginOverheadSection(root: string, requestsPerScenario: number) {
  const rows = await runOverheadScript(root, { OVERHEAD_COUNT: String(requestsPerScenario) });
  const inactive = pick(rows, (s) => s.includes('inactive'), 'plugin inactive');
  const up = pick(rows, (s) => s.includes(' up'), 'service up');
  const down = pick(rows, (s) => s.includes('refused'), 'service down (refused)');
  const hanging = rows.find((r) => r.scenario.includes('hanging'));
  const extra = (r: ScenarioRow, k: 'p50_ms' | 'p99_ms') => round(r[k] - inactive[k], 2);
  return {
    plugin_overhead_p50_ms: { service_up: extra(up, 'p50_ms'), service_down: extra(down, 'p50_ms'), ...(hanging ? { service_hanging: extra(hanging, 'p50_ms') } : {}) },
    plugin_overhead_p99_ms: { service_up: extra(up, 'p99_ms'), service_down: extra(down, 'p99_ms'), ...(hanging ? { service_hanging: extra(hanging, 'p99_ms') } : {}) },
    failed_login_latency_ms: Object.fromEntries(rows.map((r) => [r.scenario, { p50: r.p50_ms, p99: r.p99_ms }])),
    plugin_overhead_requests_per_scenario: inactive.n,
  };
}
