// Account IP list enforcement: every banned ip_key is one item of our list, which a
// single WAF custom rule (`ip.src in $<list>`) blocks. Many ip_keys travel in one bulk
// call, which is what lets a botnet's worth of bans fit in Cloudflare's rate limit.
// Same discipline as access rules: 'applying' is written before the call, item ids are
// written with 'active', and an unban without an id finds the item by its tag.
import type { CloudflareApi } from './api.ts';
import { CloudflareCallError } from './api.ts';
import { createListApi, type ListItem } from './list-api.ts';
import { checkBlockRule } from './block-rule.ts';
import { formatTag, ipKeyFromTag } from './tag.ts';
import { canonicalIp, cloudflareTargetFor, UnsupportedIpKeyError, type CloudflareTarget } from './target.ts';
import {
  emptyReport,
  iso,
  writeEnforcement,
  type BackendDeps,
  type EnforcementBackend,
  type KeyOutcome,
  type ReconcileContext,
  type ReconcileReport,
} from './state.ts';
import type { DesiredBlock, EnforcementRow } from '../store/enforcement.ts';

const BACKEND = 'list';
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

export function createListBackend(deps: BackendDeps & { api: CloudflareApi; stopSignal: AbortSignal }): EnforcementBackend {
  const { api, store, config, now, logger } = deps;
  const list = createListApi(api, config, deps.stopSignal);
  const label = `list:${config.account_id}/${config.list_name}`;
  const nowIso = () => iso(now());
  const save = (ipKey: string, patch: Parameters<typeof writeEnforcement>[4]) => writeEnforcement(store, ipKey, BACKEND, nowIso(), patch);
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

  // Untagged items someone put in our list, by address, from the last full read. A ban on
  // one of them is covered by that item: we must not overwrite its comment (a POST would)
  // and then delete it at unban.
  let foreignItems = new Map<string, ListItem>();
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
    const estimatedItems = (store.countByState()['active'] ?? 0) + ipKeys.length;
    const fullReadCalls = Math.ceil(estimatedItems / ITEMS_PER_PAGE) + 1;
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

  async function runAdds(adds: PendingAdd[], outcomes: Map<string, KeyOutcome>): Promise<void> {
    if (!adds.length) return;
    const keys = adds.map((a) => a.ipKey);
    const batchId = store.createBatch(nowIso(), 'add', keys);
    store.transaction(() => {
      for (const a of adds) {
        save(a.ipKey, { scope: label, state: 'applying', create_uncertain: 1, target: a.target.target, value: a.target.listIp, mode: null, notes: null });
      }
    });
    try {
      for (const chunk of chunks(adds, config.list_batch_size)) {
        await list.addItems(chunk.map((a) => ({ ip: a.target.listIp, comment: a.notes })), { batchId });
      }
      const items = await findItems(keys, batchId);
      store.transaction(() => {
        for (const a of adds) {
          const [item] = items.get(a.ipKey) ?? [];
          if (!item) {
            save(a.ipKey, { state: 'failed', last_error: 'item not found in the list after the bulk add completed' });
            outcomes.set(a.ipKey, { ipKey: a.ipKey, error: new CloudflareCallError('server', `item for ${a.ipKey} missing after bulk add`) });
            continue;
          }
          save(a.ipKey, {
            state: 'active',
            cloudflare_id: item.id,
            create_uncertain: 0,
            notes: a.notes,
            applied_until: a.desired.until,
            foreign_rule_id: null,
            attempts: 0,
            last_error: null,
            applied_at: nowIso(),
          });
          outcomes.set(a.ipKey, { ipKey: a.ipKey });
        }
      });
    } catch (error) {
      store.transaction(() => {
        for (const a of adds) {
          save(a.ipKey, { state: 'failed', last_error: message(error) });
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
      store.transaction(() => keys.forEach((k) => save(k, { state: 'removing' })));
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
              save(key, { state: 'failed', last_error: error.message });
              outcomes.set(key, { ipKey: key, error });
            }
          }
        });
      }
      store.transaction(() => {
        for (const key of keys) {
          if (outcomes.has(key)) continue;
          save(key, { state: 'removed', cloudflare_id: null, create_uncertain: 0, attempts: 0, last_error: null });
          outcomes.set(key, { ipKey: key });
        }
      });
    } catch (error) {
      store.transaction(() => {
        for (const key of keys) {
          if (outcomes.has(key)) continue;
          save(key, { state: 'failed', last_error: message(error) });
          outcomes.set(key, { ipKey: key, error });
        }
      });
    }
  }

  async function enforce(ipKeys: string[]): Promise<KeyOutcome[]> {
    const outcomes = new Map<string, KeyOutcome>();
    const adds: PendingAdd[] = [];
    const removes: EnforcementRow[] = [];
    const at = nowIso();
    for (const ipKey of ipKeys) {
      const desired = store.desiredFor(ipKey, at);
      const row = store.enforcementOf(ipKey);
      if (desired) {
        let target: CloudflareTarget;
        try {
          target = cloudflareTargetFor(ipKey);
        } catch (error) {
          if (!(error instanceof UnsupportedIpKeyError)) throw error;
          save(ipKey, { state: 'failed', last_error: error.message });
          outcomes.set(ipKey, { ipKey, error, permanent: true });
          continue;
        }
        const notes = formatTag({ ipKey, jails: desired.jails, until: desired.until });
        const foreign = row?.state === 'active' ? undefined : foreignItems.get(itemKey(target.listIp));
        if (row?.state === 'active' && row.cloudflare_id && row.notes === notes && row.scope === label) outcomes.set(ipKey, { ipKey });
        else if (foreign) {
          if (row?.state !== 'foreign' || row.foreign_rule_id !== foreign.id) {
            save(ipKey, {
              scope: label, state: 'foreign', cloudflare_id: null, create_uncertain: 0, target: target.target, value: target.listIp,
              mode: null, notes: foreign.comment, applied_until: desired.until, foreign_rule_id: foreign.id, attempts: 0, last_error: null, applied_at: at,
            });
            store.auditSystem(at, 'cloudflare_foreign_rule', ipKey, desired.ban_id, {
              item_id: foreign.id, comment: foreign.comment, note: 'an item EdgeJail did not add already lists this address; it will never be deleted by EdgeJail',
            });
          }
          outcomes.set(ipKey, { ipKey });
        } else adds.push({ ipKey, target, notes, desired });
        continue;
      }
      const nothingPlaced = !row || row.state === 'removed' || (!row.cloudflare_id && !row.create_uncertain && ['pending', 'failed', 'dry_run', 'foreign'].includes(row.state));
      if (nothingPlaced) {
        if (row && row.state !== 'removed') save(ipKey, { state: 'removed', cloudflare_id: null, create_uncertain: 0, attempts: 0, last_error: null });
        outcomes.set(ipKey, { ipKey });
      } else removes.push(row!);
    }
    // Unbans first: they are the promise this product keeps.
    await runRemoves(removes, outcomes);
    await runAdds(adds, outcomes);
    return ipKeys.map((ipKey) => outcomes.get(ipKey) ?? { ipKey, error: new Error('no outcome recorded') });
  }

  async function reconcile(context: ReconcileContext): Promise<ReconcileReport> {
    const report = emptyReport(BACKEND, nowIso());
    const items = await readAllItems(null);
    const byKey = new Map<string, ListItem[]>();
    for (const item of items) {
      const ipKey = ipKeyFromTag(item.comment);
      if (ipKey) byKey.set(ipKey, [...(byKey.get(ipKey) ?? []), item]);
    }
    report.seen = [...byKey.values()].reduce((n, list) => n + list.length, 0);
    const desiredAll = store.desiredAll(nowIso());
    const audit = (ipKey: string, banId: number | null, detail: Record<string, unknown>) =>
      store.auditSystem(nowIso(), 'reconcile_repair', ipKey, banId, { backend: BACKEND, scope: label, ...detail });
    const releases: Array<() => void> = [];
    const claim = (ipKey: string): boolean => {
      const row = store.enforcementOf(ipKey);
      if ((row?.rev ?? 0) !== (context.revisions.get(ipKey) ?? 0) || store.outboxRow(ipKey)) return false;
      const release = context.locks.tryLock(ipKey);
      if (release) releases.push(release);
      return release !== null;
    };
    try {
      const orphans: Array<{ ipKey: string; item: ListItem }> = [];
      const keys = new Set([...byKey.keys(), ...desiredAll.keys(), ...store.liveEnforcement().map((r) => r.ip_key)]);
      for (const ipKey of keys) {
        if (!claim(ipKey)) {
          report.skippedBusy++;
          continue;
        }
        const found = byKey.get(ipKey) ?? [];
        const desired = store.desiredFor(ipKey, nowIso());
        const row = store.enforcementOf(ipKey);
        if (row && row.scope && row.scope !== label && row.state !== 'removed') {
          store.enqueue(ipKey, nowIso());
          continue;
        }
        if (!desired) {
          for (const item of found) orphans.push({ ipKey, item });
          if (!found.length && row && row.state !== 'removed') save(ipKey, { state: 'removed', cloudflare_id: null, create_uncertain: 0 });
          continue;
        }
        let notes: string;
        try {
          cloudflareTargetFor(ipKey);
          notes = formatTag({ ipKey, jails: desired.jails, until: desired.until });
        } catch {
          continue;
        }
        const [item] = found;
        if (item) {
          if (row?.cloudflare_id !== item.id || row?.state !== 'active') {
            report.idsRepaired++;
            audit(ipKey, desired.ban_id, { repair: 'id_repaired', item_id: item.id, stored_id: row?.cloudflare_id ?? null, stored_state: row?.state ?? null });
            const target = cloudflareTargetFor(ipKey);
            save(ipKey, {
              scope: label, state: 'active', cloudflare_id: item.id, create_uncertain: 0, target: target.target, value: target.listIp,
              mode: null, notes: item.comment, applied_until: desired.until, attempts: 0, last_error: null, applied_at: nowIso(),
            });
          }
          if (item.comment !== notes) {
            save(ipKey, { notes: item.comment });
            store.enqueue(ipKey, nowIso());
          }
          continue;
        }
        if (row?.state === 'foreign') {
          if ([...foreignItems.values()].some((i) => i.id === row.foreign_rule_id)) continue;
          report.foreignGone++;
          audit(ipKey, desired.ban_id, { repair: 'foreign_rule_gone', item_id: row.foreign_rule_id });
        } else {
          report.missingReapplied++;
          audit(ipKey, desired.ban_id, { repair: 'missing_reapplied', stored_id: row?.cloudflare_id ?? null, stored_state: row?.state ?? null });
        }
        save(ipKey, { state: 'pending', cloudflare_id: null, create_uncertain: 0, foreign_rule_id: null });
        store.enqueue(ipKey, nowIso());
      }
      if (orphans.length) {
        const batchId = store.createBatch(nowIso(), 'remove', [...new Set(orphans.map((o) => o.ipKey))]);
        for (const chunk of chunks(orphans, config.list_batch_size)) {
          await list.deleteItems(chunk.map((o) => o.item.id), { batchId });
          store.transaction(() => {
            for (const { ipKey, item } of chunk) {
              report.orphansRemoved++;
              audit(ipKey, store.latestBanId(ipKey), { repair: 'orphan_removed', item_id: item.id, comment: item.comment });
              const row = store.enforcementOf(ipKey);
              if (row && row.state !== 'removed') save(ipKey, { state: 'removed', cloudflare_id: null, create_uncertain: 0 });
            }
          });
        }
      }
    } catch (error) {
      report.errors.push(message(error));
    } finally {
      releases.forEach((release) => release());
    }
    // Items without the rule are bans that block nothing: say so loudly, every reconcile.
    report.blockRule = await checkBlockRule(api, config);
    if (report.blockRule.state === 'missing') logger.warn({ scope: label }, report.blockRule.detail);
    return report;
  }

  return {
    name: BACKEND,
    scopeLabel: label,
    batchSize: Math.max(KEYS_PER_RUN, config.list_batch_size),
    concurrency: 1,
    enforce,
    reconcile,
  };
}
