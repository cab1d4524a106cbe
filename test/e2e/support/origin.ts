// The origin as the test drives it: scripts/e2e-origin.sh does the installing and serving
// (MariaDB, WordPress, nginx, php-fpm); this module runs it, points the plugin at a service
// through wp-config.php constants, and reads nginx's access log.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../support/process.ts';

export const ORIGIN_SCRIPT = join(ROOT, 'scripts/e2e-origin.sh');

export interface OriginPaths {
  E2E_DIR: string;
  WP_ENV_DIR: string;
  WP_ENV_ROOT: string;
  ORIGIN_DIR: string;
  ACCESS_LOG: string;
  /** The same requests in the combined + CF-Connecting-IP format `edgejail tail` reads. */
  EDGEJAIL_ACCESS_LOG: string;
  WP_ENV_USER: string;
  WP_ENV_PASSWORD: string;
  /** The site's administrator. */
  WP_ENV_ADMIN_USER: string;
  WP_ENV_ADMIN_PASSWORD: string;
  WP_ENV_DEBUG_LOG: string;
  /** MariaDB's pid file. */
  WP_ENV_DB_PID_FILE: string;
}

/** Runs the origin script without blocking this process's event loop (in-process fakes keep answering). */
export function runOriginScript(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [ORIGIN_SCRIPT, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`e2e-origin.sh ${args.join(' ')} exited ${code}:\n${err}${out}`))));
  });
}

export async function originPaths(env: NodeJS.ProcessEnv = {}): Promise<OriginPaths> {
  const out = await runOriginScript(['env'], env);
  return Object.fromEntries(out.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])) as unknown as OriginPaths;
}

const PHP_SAFE = /^[A-Za-z0-9_.:/\-]*$/;
function phpString(value: string): string {
  if (!PHP_SAFE.test(value)) throw new Error(`refusing to write ${JSON.stringify(value)} into wp-config-extra.php`);
  return `'${value}'`;
}

export interface PluginSettings {
  serviceUrl: string;
  siteId: string;
  secret: string;
  /** Addresses the plugin must believe CF-Connecting-IP from: the edge proxy's source address. */
  edgeAddresses: string[];
}

const TRUST_PLUGIN = 'edgejail-e2e-edge-trust.php';

/**
 * Configures the plugin the way a site owner does, by constants in wp-config.php (through
 * wp-env's wp-config-extra.php), and makes the test's edge count as Cloudflare. Real
 * Cloudflare ranges are not loopback, so a must-use plugin answers the option the plugin
 * keeps its refreshed copy of Cloudflare's ranges in, with the edge's address added.
 */
export function configurePlugin(paths: OriginPaths, settings: PluginSettings): void {
  writeFileSync(
    join(paths.WP_ENV_DIR, 'wp-config-extra.php'),
    `<?php
// Written by the EdgeJail end-to-end test.
define( 'EDGEJAIL_URL', ${phpString(settings.serviceUrl)} );
define( 'EDGEJAIL_SITE_ID', ${phpString(settings.siteId)} );
define( 'EDGEJAIL_SECRET', ${phpString(settings.secret)} );
`,
  );
  const muDir = join(paths.WP_ENV_ROOT, 'wp-content/mu-plugins');
  mkdirSync(muDir, { recursive: true });
  const extra = settings.edgeAddresses.map((a) => `${phpString(`${a}/32`)}`).join(', ');
  writeFileSync(
    join(muDir, TRUST_PLUGIN),
    `<?php
// Written by the EdgeJail end-to-end test: its edge proxy stands in for Cloudflare and
// connects from loopback, so it is added to the Cloudflare ranges the plugin believes.
add_filter(
	'pre_option_edgejail_cloudflare_ranges',
	function () {
		return array(
			'ipv4'       => array_merge( EdgeJail_Cloudflare_Ranges::BUNDLED_IPV4, array( ${extra} ) ),
			'ipv6'       => EdgeJail_Cloudflare_Ranges::BUNDLED_IPV6,
			'fetched_at' => time(),
		);
	}
);
`,
  );
}

/** Leaves the site as wp-env made it: no service configured, no extra trust. */
export function unconfigurePlugin(paths: OriginPaths): void {
  rmSync(join(paths.WP_ENV_DIR, 'wp-config-extra.php'), { force: true });
  rmSync(join(paths.WP_ENV_ROOT, 'wp-content/mu-plugins', TRUST_PLUGIN), { force: true });
}

export interface AccessLine {
  /** Epoch seconds when the answer was done; t - rt is when the request arrived. */
  t: number;
  rt: number;
  addr: string;
  cf: string;
  /** The edge's CF-Ray id; empty for requests that did not come through the edge. */
  ray: string;
  method: string;
  uri: string;
  status: number;
  php: number;
}

export function readAccessLog(paths: OriginPaths): AccessLine[] {
  if (!existsSync(paths.ACCESS_LOG)) return [];
  return readFileSync(paths.ACCESS_LOG, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AccessLine);
}

/** Requests the origin served on behalf of `ip`: direct ones from it, and the edge's with its CF-Connecting-IP. */
export function originRequestsFrom(paths: OriginPaths, ip: string): AccessLine[] {
  return readAccessLog(paths).filter((l) => l.addr === ip || l.cf === ip);
}
