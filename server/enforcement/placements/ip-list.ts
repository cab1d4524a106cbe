// Account IP list: every banned ip_key is one item of our list, which a single WAF custom
// rule (`ip.src in $<list>`) blocks. Many ip_keys travel in one bulk call, which is what
// lets a botnet's worth of bans fit in Cloudflare's rate limit. The list has a capacity
// (`list_capacity`, counted from SQLite): a bulk add it refuses for size is split so what
// fits goes in, and the rest is handed back to the worker as `noRoom`.
import type { CloudflareApi } from '../../cloudflare/api.ts';
import { CloudflareCallError } from '../../cloudflare/api.ts';
import { createListApi, type ListItem } from '../../cloudflare/list-api.ts';
import { checkBlockRule } from '../../cloudflare/block-rule.ts';
import { formatTag, ipKeyFromTag } from '../../cloudflare/tag.ts';
import { canonicalIp, cloudflareTargetFor, UnsupportedIpKeyError, type CloudflareTarget } from '../../cloudflare/target.ts';
import type { DesiredBlock, EnforcementRow } from '../../store/enforcement.ts';
import { iso, type KeyOutcome, type IpPlacement, type PlacementDeps, type PlaceRequest } from '../types.ts';
import { ipReconcileParts } from '../ip-reconcile.ts';

const ITEMS_PER_PAGE = 500;
// ip_keys one enforcement run takes: several bulk requests of list_batch_size, then one read-back of ids.
const KEYS_PER_RUN = 5_000;

interface PendingAdd {
  ipKey: string;
  target: CloudflareTarget;
  notes: string;
  desired: DesiredBlock;
}

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Cloudflare fails the whole bulk operation when the items would not fit. */
export const isCapacityRefusal = (error: unknown) => error instanceof CloudflareCallError && /maximum number of items/i.test(error.message);

export function createIpListPlacement(deps: PlacementDeps & { api: CloudflareApi; stopSignal: AbortSignal }): IpPlacement {
  const { api, store, rows, config, now, logger } = deps;
  const list = createListApi(api, config, deps.stopSignal);
  const label = `list:${config.account_id}/${config.list_name}`;
  const where = { backend: 'list', scope: label, placement: 'list' } as const;
  const nowIso = () => iso(now());
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

  // Untagged items someone put in our list, by address, from the last full read. A ban on
  // one of them is covered by that item: we must not overwrite its comment (a POST would)
  // and then delete it at unban.
  let foreignItems = new Map<string, ListItem>();
  // Items that are not ours but count against the account's item limit (other lists, untagged ones).
  let reserved = 0;
  // Slots in use when Cloudflare last refused a single item: the true limit, until the next full read.
  let refusedAt: number | null = null;
  const itemKey = (ip: string) => {
    const [address = '', prefix] = ip.split('/');
    return prefix === undefined ? canonicalIp(address) : `${canonicalIp(address)}/${prefix}`;
  };
  async function readAllItems(batchId: number | null): Promise<ListItem[]> {
    const items = await list.readAll({ batchId });
    foreignItems = new Map(items.filter((i) => !ipKeyFromTag(i.comment)).map((i) => [itemKey(i.ip), i]));
    return items;
  }

  /**
   * Finds the current items for these ip_keys by their tag, with whichever costs fewer
   * calls: one search per IPv4 key, or reading the whole list.
   */
  async function findItems(ipKeys: string[], batchId: number | null): Promise<Map<string, ListItem[]>> {
    const wanted = new Set(ipKeys);
    const found = new Map<string, ListItem[]>();
    const add = (item: ListItem) => {
      const key = ipKeyFromTag(item.comment);
      if (key && wanted.has(key)) found.set(key, [...(found.get(key) ?? []), item]);
    };
    const fullReadCalls = Math.ceil((store.slotsUsed('list') + ipKeys.length) / ITEMS_PER_PAGE) + 1;
    const searchable = ipKeys.every((k) => cloudflareTargetFor(k).target === 'ip');
    if (searchable && ipKeys.length < fullReadCalls) {
      for (const ipKey of ipKeys) {
        for (const item of await list.search(cloudflareTargetFor(ipKey).listIp, { ipKey, batchId })) add(item);
      }
    } else {
      for (const item of await readAllItems(batchId)) add(item);
    }
    return found;
  }

  /** Adds a chunk; when Cloudflare refuses it for size, halves it until what fits is in. */
  async function addFitting(chunk: PendingAdd[], batchId: number): Promise<{ added: PendingAdd[]; refused: PendingAdd[] }> {
    try {
      await list.addItems(chunk.map((a) => ({ ip: a.target.listIp, comment: a.notes })), { batchId });
      return { added: chunk, refused: [] };
    } catch (error) {
      if (!isCapacityRefusal(error)) throw error;
      if (chunk.length === 1) return { added: [], refused: chunk };
      const half = Math.ceil(chunk.length / 2);
      const first = await addFitting(chunk.slice(0, half), batchId);
      // The first half did not all fit: the list is full, the second half cannot fit either.
      if (first.refused.length) return { added: first.added, refused: [...first.refused, ...chunk.slice(half)] };
      const second = await addFitting(chunk.slice(half), batchId);
      return { added: [...first.added, ...second.added], refused: second.refused };
    }
  }

  async function runAdds(adds: PendingAdd[], outcomes: Map<string, KeyOutcome>): Promise<void> {
    if (!adds.length) return;
    const keys = adds.map((a) => a.ipKey);
    const batchId = store.createBatch(nowIso(), 'add', keys);
    store.transaction(() => {
      for (const a of adds) rows.applying(a.ipKey, where, { target: a.target.target, value: a.target.listIp, mode: null });
    });
    const added: PendingAdd[] = [];
    let refused: PendingAdd[] = [];
    try {
      for (const chunk of chunks(adds, config.list_batch_size)) {
        if (refused.length) {
          refused.push(...chunk);
          continue;
        }
        const result = await addFitting(chunk, batchId);
        added.push(...result.added);
        refused = result.refused;
      }
    } catch (error) {
      const done = new Set(added.map((a) => a.ipKey));
      store.transaction(() => {
        for (const a of adds) {
          if (done.has(a.ipKey)) continue;
          rows.failed(a.ipKey, message(error));
          outcomes.set(a.ipKey, { ipKey: a.ipKey, error });
        }
      });
    }
    if (refused.length) {
      // Nothing of these went in (a failed operation applies nothing): they leave the list's slots.
      store.transaction(() => {
        for (const a of refused) {
          rows.pending(a.ipKey, false);
          outcomes.set(a.ipKey, { ipKey: a.ipKey, noRoom: true });
        }
      });
      refusedAt = store.slotsUsed('list');
      logger.warn({ refused: refused.length, slotsUsed: refusedAt, list_capacity: config.list_capacity }, 'the list is full; the rest of the bans go to overflow');
    }
    if (!added.length) return;
    try {
      const items = await findItems(added.map((a) => a.ipKey), batchId);
      store.transaction(() => {
        for (const a of added) {
          const [item] = items.get(a.ipKey) ?? [];
          if (!item) {
            rows.failed(a.ipKey, 'item not found in the list after the bulk add completed');
            outcomes.set(a.ipKey, { ipKey: a.ipKey, error: new CloudflareCallError('server', `item for ${a.ipKey} missing after bulk add`) });
            continue;
          }
          rows.active(a.ipKey, where, { target: a.target.target, value: a.target.listIp, mode: null, id: item.id, notes: a.notes, until: a.desired.until });
          outcomes.set(a.ipKey, { ipKey: a.ipKey });
        }
      });
    } catch (error) {
      store.transaction(() => {
        for (const a of added) {
          rows.failed(a.ipKey, message(error));
          outcomes.set(a.ipKey, { ipKey: a.ipKey, error });
        }
      });
    }
  }

  async function runRemoves(removes: EnforcementRow[], outcomes: Map<string, KeyOutcome>): Promise<void> {
    if (!removes.length) return;
    const keys = removes.map((r) => r.ip_key);
    const batchId = store.createBatch(nowIso(), 'remove', keys);
    try {
      const idsByKey = new Map<string, string[]>(removes.filter((r) => r.cloudflare_id).map((r) => [r.ip_key, [r.cloudflare_id!]]));
      const withoutId = removes.filter((r) => !r.cloudflare_id).map((r) => r.ip_key);
      if (withoutId.length) {
        for (const [ipKey, items] of await findItems(withoutId, batchId)) idsByKey.set(ipKey, items.map((i) => i.id));
      }
      store.transaction(() => keys.forEach((k) => rows.removing(k)));
      const ids = [...new Set([...idsByKey.values()].flat())];
      try {
        for (const chunk of chunks(ids, config.list_batch_size)) await list.deleteItems(chunk, { batchId });
      } catch (error) {
        if (!(error instanceof CloudflareCallError) || error.kind === 'stopped' || error.kind === 'rate_limited') throw error;
        // A failed delete may name an item someone already removed: see what is really left.
        logger.warn({ err: error.message, batchId }, 'bulk delete failed; re-reading the list to see what is left');
        const left = await readAllItems(batchId);
        const leftIds = new Set(left.map((i) => i.id));
        const leftKeys = new Set(left.map((i) => ipKeyFromTag(i.comment)));
        store.transaction(() => {
          for (const key of keys) {
            if (leftKeys.has(key) || (idsByKey.get(key) ?? []).some((id) => leftIds.has(id))) {
              rows.failed(key, error.message);
              outcomes.set(key, { ipKey: key, error });
            }
          }
        });
      }
      store.transaction(() => {
        for (const key of keys) {
          if (outcomes.has(key)) continue;
          rows.removed(key);
          outcomes.set(key, { ipKey: key });
        }
      });
    } catch (error) {
      store.transaction(() => {
        for (const key of keys) {
          if (outcomes.has(key)) continue;
          rows.failed(key, message(error));
          outcomes.set(key, { ipKey: key, error });
        }
      });
    }
  }

  async function place(requests: PlaceRequest[]): Promise<KeyOutcome[]> {
    const outcomes = new Map<string, KeyOutcome>();
    const adds: PendingAdd[] = [];
    const at = nowIso();
    for (const { ipKey, desired, row } of requests) {
      let target: CloudflareTarget;
      try {
        target = cloudflareTargetFor(ipKey);
      } catch (error) {
        if (!(error instanceof UnsupportedIpKeyError)) throw error;
        rows.unenforceable(ipKey, error.message);
        outcomes.set(ipKey, { ipKey, error, permanent: true });
        continue;
      }
      const notes = formatTag({ ipKey, jails: desired.jails, until: desired.until });
      const foreign = row?.state === 'active' ? undefined : foreignItems.get(itemKey(target.listIp));
      if (row?.state === 'active' && row.cloudflare_id && row.notes === notes && row.scope === label) outcomes.set(ipKey, { ipKey });
      else if (foreign) {
        if (row?.state !== 'foreign' || row.foreign_rule_id !== foreign.id) {
          rows.foreign(ipKey, where, { target: target.target, value: target.listIp, mode: null, foreignId: foreign.id, notes: foreign.comment, until: desired.until });
          store.auditSystem(at, 'cloudflare_foreign_rule', ipKey, desired.ban_id, {
            item_id: foreign.id, comment: foreign.comment, note: 'an item EdgeJail did not add already lists this address; it will never be deleted by EdgeJail',
          });
        }
        outcomes.set(ipKey, { ipKey });
      } else adds.push({ ipKey, target, notes, desired });
    }
    await runAdds(adds, outcomes);
    return requests.map(({ ipKey }) => outcomes.get(ipKey) ?? { ipKey, error: new Error('no outcome recorded') });
  }

  async function lift(liftRows: EnforcementRow[]): Promise<KeyOutcome[]> {
    const outcomes = new Map<string, KeyOutcome>();
    await runRemoves(liftRows, outcomes);
    return liftRows.map((row) => outcomes.get(row.ip_key) ?? { ipKey: row.ip_key, error: new Error('no outcome recorded') });
  }

  return {
    ...ipReconcileParts(deps.ipReconcile, 'list'),
    describe: (object) => ({ item_id: object.id, notes: object.tag }),
    name: 'list',
    backend: 'list',
    scopeLabel: label,
    batchSize: Math.max(KEYS_PER_RUN, config.list_batch_size),
    concurrency: 1,
    capacity() {
      const configured = Math.max(0, config.list_capacity - reserved);
      return refusedAt === null ? configured : Math.min(configured, refusedAt);
    },
    place,
    lift,

    async readPlaced() {
      const [items, lists] = await Promise.all([readAllItems(null), list.findLists()]);
      // A full read is the truth about room: forget the refusal, count what is not ours.
      const otherLists = lists.filter((l) => l.name !== config.list_name).reduce((n, l) => n + l.num_items, 0);
      reserved = otherLists + foreignItems.size;
      refusedAt = null;
      return items.flatMap((item) => {
        const key = ipKeyFromTag(item.comment);
        return key ? [{ key, id: item.id, tag: item.comment }] : [];
      });
    },
    async removePlaced(objects) {
      const removed = [];
      const batchId = store.createBatch(nowIso(), 'remove', [...new Set(objects.map((o) => o.key))]);
      for (const chunk of chunks(objects, config.list_batch_size)) {
        await list.deleteItems(chunk.map((o) => o.id), { batchId });
        removed.push(...chunk);
      }
      return removed;
    },
    isCurrent: (object, desired) => object.tag === formatTag({ ipKey: object.key, jails: desired.jails, until: desired.until }),
    foreignStillThere: async (row) => [...foreignItems.values()].some((i) => i.id === row.foreign_rule_id),
    activeFields(ipKey, object, desired) {
      const target = cloudflareTargetFor(ipKey);
      return { target: target.target, value: target.listIp, mode: null, id: object.id, notes: object.tag, until: desired.until };
    },
    // Items without the rule are bans that block nothing: say so loudly, every reconcile.
    async checkSetup() {
      const blockRule = await checkBlockRule(api, config);
      if (blockRule.state === 'missing') logger.warn({ scope: label }, blockRule.detail);
      return blockRule;
    },
  };
}
