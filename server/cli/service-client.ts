// Asks the running service, so a command reports what the service does (its Cloudflare
// mode comes from the service's environment, not this shell's). Uses the admin token the
// service uses: the configured one, or the one it generated into the data dir.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../auth/admin-token.ts';
import type { Config } from '../config/schema.ts';
import { planListeners } from '../http/listeners.ts';

const TIMEOUT_MS = 3_000;

/** Where the admin API listens, by the same plan the service listens by: its own listener, or beside ingest. */
export function adminBaseUrl(config: Config): string {
  const plan = planListeners(config);
  const { port, host: listenHost } = plan.admin ?? plan.main;
  let host = listenHost;
  // A wildcard listener is reached on loopback.
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The admin token without creating one: a command must not invent a token the service does not know. */
export function localAdminToken(config: Config): string | null {
  if (config.admin_token) return config.admin_token;
  const file = join(config.data_dir, ADMIN_TOKEN_FILE);
  if (!existsSync(file)) return null;
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null; // not readable by this user: the caller falls back and says so
  }
}

export type ServiceAnswer<T> = { ok: true; url: string; body: T } | { ok: false; url: string; why: string };

export async function askService<T>(config: Config, path: string): Promise<ServiceAnswer<T>> {
  const url = adminBaseUrl(config);
  const token = localAdminToken(config);
  if (!token) return { ok: false, url, why: `no admin token readable in ${join(config.data_dir, ADMIN_TOKEN_FILE)}` };
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { ok: false, url, why: cause === 'ECONNREFUSED' ? 'no service is listening there' : `it did not answer (${cause})` };
  }
  if (res.status === 401) return { ok: false, url, why: 'it refused this admin token (another data dir or EDGEJAIL_ADMIN_TOKEN?)' };
  if (!res.ok) return { ok: false, url, why: `it answered HTTP ${res.status}` };
  try {
    return { ok: true, url, body: (await res.json()) as T };
  } catch {
    return { ok: false, url, why: 'its answer was not JSON (is something else listening there?)' };
  }
}
