// Events from an address no client can have (carrier-grade NAT, loopback, private, a
// Cloudflare edge) mean the site reads the wrong header or trusts the wrong proxy: every
// attacker then looks like that one address and nobody gets banned. Say so in the log, once
// per site and category every few minutes, so a flood does not become a log flood.
import type { FastifyBaseLogger } from 'fastify';
import { MISCONFIGURED_PROXY_CATEGORIES, type NeverBanCategory } from '../jail/never-ban.ts';

const REPEAT_AFTER_MS = 10 * 60_000;
const MAX_REMEMBERED = 10_000;

export function misconfiguredProxyWarnings(now: () => number) {
  const lastWarnedAt = new Map<string, number>();
  return {
    /** `reason` is an ignore reason as ingest reports it (`never_ban:carrier_nat`). */
    note(log: FastifyBaseLogger, siteId: string, reason: string, events: number): void {
      const category = reason.startsWith('never_ban:') ? (reason.slice('never_ban:'.length) as NeverBanCategory) : null;
      if (!category || !MISCONFIGURED_PROXY_CATEGORIES.has(category)) return;
      const key = `${siteId} ${category}`;
      const nowMs = now();
      const last = lastWarnedAt.get(key);
      if (last !== undefined && nowMs - last < REPEAT_AFTER_MS) return;
      if (lastWarnedAt.size >= MAX_REMEMBERED) lastWarnedAt.clear();
      lastWarnedAt.set(key, nowMs);
      log.warn(
        { site_id: siteId, reason, events },
        `site ${siteId} reports attempts from ${category.replace('_', '-')} addresses, which no public client has: a proxy in front of the site passes its own address. Events from it are stored but never counted; fix the plugin's trusted proxies or client-IP header.`,
      );
    },
  };
}
