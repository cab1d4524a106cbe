// One signed batch from a site: store every event, let the jails count the ones that
// count, record any bans, all in one transaction so a 2xx means it is on disk.
import type { EventBatch, EventBatchResponse, AttemptEvent, HelloEvent, SelfUnlockEvent } from '../contract/events.ts';
import type { Store, SiteRow, NewEvent } from '../store/store.ts';
import type { JailEvent } from '../jail/engine.ts';
import type { BanService } from '../bans/ban-service.ts';
import { judgeAddress } from '../jail/bannable.ts';
import type { CidrSet } from '../jail/ip.ts';
import type { ShieldService } from '../shield/shield-service.ts';
import { isoOf, msOf } from '../shared/iso-time.ts';
import { unbannedSince } from './unbanned-since.ts';

export interface IngestContext {
  store: Store;
  bans: BanService;
  ipv6Prefix: number;
  ignoreLists: () => { allowlist: CidrSet; neverBan: CidrSet };
  shield?: ShieldService;
  /** Lifts an address's bans and allowlists it for a while, audited as `actor` (a self-unlock). */
  selfUnlock?: (siteId: string, ip: string, username: string) => unknown;
}

export interface IngestOutcome {
  response: EventBatchResponse;
  acceptedByType: Map<string, number>;
  ignored: number;
  /** Ignored events by reason (`allowlist`, `never_ban:carrier_nat`, …). */
  ignoredByReason: Map<string, number>;
  bansCreated: number;
}

/** What a batch wrote inside its transaction; answered by finishBatch once that has committed. */
export interface StagedBatch {
  batch: EventBatch;
  nowMs: number;
  batchIps: Map<string, string>;
  accepted: number;
  duplicates: number;
  acceptedByType: Map<string, number>;
  ignored: number;
  ignoredByReason: Map<string, number>;
  bansCreated: number;
}

export function ingestBatch(ctx: IngestContext, site: SiteRow, batch: EventBatch, nowMs: number): IngestOutcome {
  // The ban service's transaction: it tells the enforcer once this commits.
  const staged = ctx.bans.transaction(() => stageBatch(ctx, site, batch, nowMs));
  return finishBatch(ctx, site, staged);
}

/**
 * Stores, judges and bans; call inside the ban service's transaction (a group commit may
 * hold several batches in one, each in its own savepoint).
 */
export function stageBatch(ctx: IngestContext, site: SiteRow, batch: EventBatch, nowMs: number): StagedBatch {
  const receivedAt = new Date(nowMs).toISOString();
  const acceptedByType = new Map<string, number>();
  const batchIps = new Map<string, string>(); // ip_key -> ip as the site sent it
  let accepted = 0;
  let duplicates = 0;
  let ignored = 0;
  const ignoredByReason = new Map<string, number>();
  let bansCreated = 0;
  const lists = ctx.ignoreLists();
  // One row and one jail event for every attempt of the batch, refilled: the store, the jails
  // and the shield copy what they keep, and two objects an event were a good part of its garbage.
  const row: NewEvent = { id: '', site_id: site.id, type: 'login_failed', ip: '', ip_key: '', username: null, user_agent: null, path: null, weight: 1, occurred_at: '', received_at: receivedAt, ignored_reason: null, site_url: null };
  const counted: JailEvent = { seq: 0, siteId: site.id, type: 'login_failed', ipKey: '', username: null, weight: 1, occurredAtMs: 0 };

  ctx.bans.transaction(() => {
    for (const event of batch.events) {
      if (event.type === 'hello') {
        recordHello(ctx.store, site, event as HelloEvent, receivedAt);
        accepted++;
        acceptedByType.set('hello', (acceptedByType.get('hello') ?? 0) + 1);
        continue;
      }
      if (event.type === 'self_unlock') {
        const unlock = event as SelfUnlockEvent;
        const ip = judgeAddress(unlock.ip, lists, ctx.ipv6Prefix);
        // Stored like any event, so a retried batch does not unlock twice; never counted.
        const inserted = ctx.store.insertEvent({
          id: unlock.id,
          site_id: site.id,
          type: 'self_unlock',
          ip: ip?.ip ?? unlock.ip,
          ip_key: ip?.ipKey ?? unlock.ip,
          username: unlock.username,
          user_agent: null,
          path: null,
          weight: 1,
          occurred_at: new Date(unlock.occurred_at).toISOString(),
          received_at: receivedAt,
          ignored_reason: 'self_unlock',
          site_url: unlock.site_url ?? null,
        });
        if (inserted) {
          accepted++;
          acceptedByType.set('self_unlock', (acceptedByType.get('self_unlock') ?? 0) + 1);
          // In the batch's transaction: an acknowledged unlock is applied, a retried one is a duplicate.
          ctx.selfUnlock?.(site.id, unlock.ip, unlock.username);
        } else duplicates++;
        continue;
      }
      const attempt = event as AttemptEvent;
      // The contract already checked it is an IP; normalising makes ::ffff:1.2.3.4 and 1.2.3.4 one attacker.
      const verdict = judgeAddress(attempt.ip, lists, ctx.ipv6Prefix) ?? { ip: attempt.ip, ipKey: attempt.ip, protectedBy: 'invalid_ip' };
      const { ip, ipKey } = verdict;
      const ignoredReason = verdict.protectedBy;
      const occurredAtMs = msOf(attempt.occurred_at);
      const occurredAt = isoOf(occurredAtMs);
      row.id = attempt.id;
      row.type = attempt.type;
      row.ip = ip;
      row.ip_key = ipKey;
      row.username = attempt.username ?? null;
      row.user_agent = attempt.user_agent ?? null;
      row.path = attempt.path ?? null;
      row.weight = attempt.weight;
      row.occurred_at = occurredAt;
      row.ignored_reason = ignoredReason;
      row.site_url = attempt.site_url ?? null;
      const seq = ctx.store.insertEvent(row);
      batchIps.set(ipKey, attempt.ip);
      if (seq === 0) {
        duplicates++;
        continue;
      }
      accepted++;
      acceptedByType.set(attempt.type, (acceptedByType.get(attempt.type) ?? 0) + 1);
      if (ignoredReason) {
        ignored++;
        ignoredByReason.set(ignoredReason, (ignoredByReason.get(ignoredReason) ?? 0) + 1);
        continue;
      }
      counted.seq = seq;
      counted.type = attempt.type;
      counted.ipKey = ipKey;
      counted.username = attempt.username ?? null;
      counted.weight = attempt.weight;
      counted.occurredAtMs = occurredAtMs;
      bansCreated += ctx.bans.judgeEvent(counted, nowMs).length;
      ctx.shield?.observe(site, counted, nowMs);
    }
    ctx.store.touchSite(site.id, receivedAt);
  });
  return { batch, nowMs, batchIps, accepted, duplicates, acceptedByType, ignored, ignoredByReason, bansCreated };
}

/** The answer to a staged batch, read after its commit. */
export function finishBatch(ctx: IngestContext, site: SiteRow, staged: StagedBatch): IngestOutcome {
  const { batch, nowMs, batchIps, accepted, duplicates, acceptedByType, ignored, ignoredByReason, bansCreated } = staged;
  const decisions: EventBatchResponse['decisions'] = [];
  // forEach: a for-of over the map makes an entry array per address.
  batchIps.forEach((ip, ipKey) => {
    const ban = ctx.bans.currentBan(ipKey, nowMs);
    if (ban) decisions.push({ ip, ip_key: ipKey, jail: ban.jail, banned_until: new Date(ban.expiresAtMs).toISOString() });
  });
  const shield = ctx.shield?.answerFor(site.id, nowMs);
  // Read after the commit: an unban this very batch's judging could not see is listed next time.
  const unbanned = unbannedSince(ctx.store, batch.unban_cursor);
  return { response: { accepted, duplicates, decisions, ...(shield ? { shield } : {}), unbanned }, acceptedByType, ignored, ignoredByReason, bansCreated };
}

function recordHello(store: Store, site: SiteRow, hello: HelloEvent, at: string): void {
  store.recordHello(site.id, {
    site_url: hello.site_url ?? null,
    plugin_version: hello.plugin_version ?? null,
    wp_version: hello.wp_version ?? null,
    at,
  });
  store.audit({
    at,
    actor: `site:${site.id}`,
    action: 'hello',
    site_id: site.id,
    detail: { event_id: hello.id, site_url: hello.site_url, plugin_version: hello.plugin_version, wp_version: hello.wp_version, php_version: hello.php_version },
  });
}
