// Signed event batches as the plugin sends them, for sections that drive the service directly.
import { attempt, signedHeaders, type TestSite } from '../../test/support/service.ts';

export { attempt };

/** Sends one batch; like the plugin, waits out a 429/503 (Retry-After) and tries again. */
export async function postEvents(serviceUrl: string, site: TestSite, events: unknown[]): Promise<unknown> {
  const body = JSON.stringify({ events });
  for (let attempt = 1; ; attempt++) {
    // Signed afresh each time: the signature carries a timestamp.
    const res = await fetch(`${serviceUrl}/v1/events`, { method: 'POST', headers: signedHeaders(site, body), body });
    const text = await res.text();
    if (res.ok) return JSON.parse(text);
    if ((res.status === 429 || res.status === 503) && attempt < 20) {
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
      continue;
    }
    throw new Error(`POST /v1/events answered ${res.status}: ${text.slice(0, 300)}`);
  }
}

/** One failed login per address, `weight` 1: what `n` rounds of a botnet look like to the service. */
export function failedLogins(ips: string[]): unknown[] {
  return ips.map((ip) => attempt(ip, { user_agent: 'bench' }));
}

export { benchIp } from './addresses.ts';
