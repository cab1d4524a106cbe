// Each channel's pending digest: changes and ban counts wait here, one line per kind and
// site, until the channel may be written to again (at most once per min_interval). A storm
// of bans is one line with a count; a condition that fired and cleared before the digest
// left is one line saying both. Pure data and functions.
import { conditionKey } from './conditions.ts';
import type { ConditionChange } from './evaluator.ts';
import type { NewBansSnapshot } from './snapshot.ts';

export type ItemKind = ConditionChange['kind'] | 'bans' | 'test';

export interface DigestItem {
  kind: ItemKind;
  siteId: string | null;
  siteName: string | null;
  status: 'firing' | 'resolved' | 'info';
  summary: string;
  firstAtMs: number;
  lastAtMs: number;
  /** Bans: how many; conditions: how many changes this line stands for. */
  count: number;
  detail: Record<string, unknown>;
}

export interface PendingDigest {
  items: Map<string, DigestItem>;
  lastSentAtMs: number | null;
}

export const emptyDigest = (): PendingDigest => ({ items: new Map(), lastSentAtMs: null });

/** How many keys a digest's ban line names. */
const BAN_SAMPLE = 10;

export function addChange(digest: PendingDigest, change: ConditionChange): void {
  const key = conditionKey(change.kind, change.siteId);
  const before = digest.items.get(key);
  const flapped = before !== undefined && before.status !== change.status;
  digest.items.set(key, {
    kind: change.kind,
    siteId: change.siteId,
    siteName: change.siteName,
    status: change.status,
    summary: flapped && change.status === 'resolved' ? `${change.summary} (it began at ${new Date(change.sinceMs).toISOString()}: ${before!.summary})` : change.summary,
    firstAtMs: before?.firstAtMs ?? change.atMs,
    lastAtMs: change.atMs,
    count: (before?.count ?? 0) + 1,
    detail: { ...change.detail, since: new Date(change.sinceMs).toISOString() },
  });
}

export function addBans(digest: PendingDigest, bans: NewBansSnapshot, atMs: number): void {
  if (bans.total === 0) return;
  const key = conditionKey('bans', null);
  const before = digest.items.get(key);
  const byJail: Record<string, number> = { ...((before?.detail.by_jail as Record<string, number> | undefined) ?? {}) };
  for (const [jail, n] of Object.entries(bans.byJail)) byJail[jail] = (byJail[jail] ?? 0) + n;
  const sample = [...((before?.detail.sample as string[] | undefined) ?? []), ...bans.sample].slice(0, BAN_SAMPLE);
  const count = (before?.count ?? 0) + bans.total;
  const jails = Object.entries(byJail).sort((a, b) => b[1] - a[1]).map(([jail, n]) => `${jail} ${n}`).join(', ');
  digest.items.set(key, {
    kind: 'bans',
    siteId: null,
    siteName: null,
    status: 'info',
    summary: `${count} new ban${count === 1 ? '' : 's'} (${jails}), e.g. ${sample.join(', ')}`,
    firstAtMs: before?.firstAtMs ?? atMs,
    lastAtMs: atMs,
    count,
    detail: { by_jail: byJail, sample },
  });
}

/**
 * The items due to go out now, or null: nothing pending, the channel spoke too recently, or
 * only bans are pending and they have not been gathered for a whole interval yet. So a storm
 * is summed up once, and a ban summary rarely holds up an alert behind it.
 */
export function takeDueDigest(digest: PendingDigest, nowMs: number, minIntervalMs: number): DigestItem[] | null {
  if (digest.items.size === 0) return null;
  if (digest.lastSentAtMs !== null && nowMs - digest.lastSentAtMs < minIntervalMs) return null;
  const pending = [...digest.items.values()];
  if (pending.every((i) => i.status === 'info') && nowMs - Math.min(...pending.map((i) => i.firstAtMs)) < minIntervalMs) return null;
  const order = { firing: 0, resolved: 1, info: 2 } as const;
  const items = [...digest.items.values()].sort((a, b) => order[a.status] - order[b.status] || a.firstAtMs - b.firstAtMs);
  digest.items.clear();
  digest.lastSentAtMs = nowMs;
  return items;
}
