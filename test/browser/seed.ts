// A day of attacks against a few sites, sent to a running service as the plugin sends
// them: signed batches over HTTP. Deterministic, so a screenshot shows the same story.
import { randomUUID } from 'node:crypto';
import { signBody } from '../../server/auth/site-signature.ts';
import { runCli } from '../support/process.ts';

export interface SeedSite {
  id: string;
  secret: string;
  name: string;
}

export const XSS_USERNAME = '<script>alert("user")</script>';
export const XSS_USER_AGENT = '"><img src=x onerror=alert(1)>';

export function addSiteWithCli(name: string, env: NodeJS.ProcessEnv): SeedSite {
  const r = runCli(['site', 'add', name, '--json'], env);
  if (r.status !== 0) throw new Error(`site add failed: ${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as { id: string; secret: string }), name };
}

export async function sendSigned(baseUrl: string, site: SeedSite, events: unknown[]): Promise<{ status: number; body: any }> {
  const body = JSON.stringify({ events });
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${baseUrl}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-edgejail-site': site.id,
      'x-edgejail-timestamp': ts,
      'x-edgejail-signature': `sha256=${signBody(site.secret, ts, body)}`,
    },
    body,
  });
  return { status: res.status, body: await res.json() };
}

export function attemptAt(ip: string, atMs: number, overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    type: 'login_failed',
    ip,
    occurred_at: new Date(atMs).toISOString(),
    username: 'admin',
    user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
    path: '/wp-login.php',
    weight: 1,
    ...overrides,
  };
}

// A small deterministic generator: the same seed paints the same day.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const USERNAMES = ['admin', 'administrator', 'wp-admin', 'editor', 'test', 'root', 'shop', 'info'];

/**
 * Spread-out background noise over the last 24 h (below every jail's threshold: at most
 * four attempts per IP in any ten minutes), so the chart has a shape without bans.
 */
export function backgroundNoise(nowMs: number, siteIndex: number, count: number): ReturnType<typeof attemptAt>[] {
  const random = rng(1000 + siteIndex);
  const events = [];
  for (let i = 0; i < count; i++) {
    // Waves: more at night (UTC), a burst around six hours ago.
    const hoursAgo = random() < 0.3 ? 5.5 + random() : random() * 23.5;
    const ip = `198.51.100.${1 + ((i * 7 + siteIndex * 31) % 250)}`;
    events.push(
      attemptAt(ip, nowMs - hoursAgo * 3600_000 - Math.floor(random() * 60_000), {
        username: USERNAMES[Math.floor(random() * USERNAMES.length)],
        type: random() < 0.2 ? 'xmlrpc_login_failed' : 'login_failed',
        path: random() < 0.2 ? '/xmlrpc.php' : '/wp-login.php',
      }),
    );
  }
  return events;
}
