// The account IP list calls: find or create our list, bulk add/remove items and poll
// the asynchronous operation to its end, read items back with cursor paging. Cloudflare
// allows one pending bulk operation per account, so they run one at a time here.
import type { CloudflareApi, CallContext } from './api.ts';
import { CloudflareCallError } from './api.ts';
import { RateLimiter, sleep, StoppedError } from './rate-limiter.ts';
import type { CloudflareConfig } from './config.ts';

export interface ListItem {
  id: string;
  ip: string;
  comment: string;
}

// Cloudflare's maximum page size for list items.
const ITEMS_PER_PAGE = 500;
const MAX_PAGES = 2_000;

export function createListApi(api: CloudflareApi, config: CloudflareConfig, stopSignal: AbortSignal) {
  const lists = api.client.rules.lists;
  const accountId = config.account_id!;
  let listId: Promise<string> | null = null;
  let bulkChain: Promise<unknown> = Promise.resolve();
  // Cloudflare also counts list item changes and modifying requests (per 12 hours since 2025);
  // a botnet-sized ban wave must not trip those limits either.
  const margin = 1 - config.rate_limit.safety_margin;
  const windowMs = config.rate_limit.list_changes_per_seconds * 1000;
  const changes = new RateLimiter([{ limit: config.rate_limit.list_item_changes * margin, windowMs }]);
  const writes = new RateLimiter([{ limit: config.rate_limit.list_write_requests * margin, windowMs }]);
  const acquireChanges = (count: number) =>
    Promise.all([changes.acquire(stopSignal, count), writes.acquire(stopSignal, 1)]).catch((error) => {
      throw error instanceof StoppedError ? new CloudflareCallError('stopped', 'enforcer stopped') : error;
    });

  /** Serialises bulk operations: the next starts only after the previous one finished polling. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = bulkChain.then(fn, fn);
    bulkChain = run.catch(() => undefined);
    return run;
  }

  /** Every list of the account with its item count: they all share the account's item limit. */
  async function findLists(): Promise<Array<{ id: string; name: string; kind: string; num_items: number }>> {
    const page = await api.call({ operation: 'find_list', target: `list ${config.list_name} in account:${accountId}` }, (options) =>
      lists.list({ account_id: accountId }, options),
    );
    return (page.result ?? []).map((l) => ({ id: l.id, name: l.name, kind: l.kind, num_items: l.num_items ?? 0 }));
  }

  async function findList(): Promise<{ id: string; num_items: number } | null> {
    const found = (await findLists()).find((list) => list.name === config.list_name && list.kind === 'ip');
    return found ? { id: found.id, num_items: found.num_items } : null;
  }

  async function createList(): Promise<string> {
    const created = await api.call({ operation: 'create_list', target: `list ${config.list_name} in account:${accountId}` }, (options) =>
      lists.create(
        { account_id: accountId, kind: 'ip', name: config.list_name, description: 'IP addresses banned by EdgeJail; managed automatically' },
        options,
      ),
    );
    return created.id;
  }

  /** Polls until the operation completed (resolves) or failed (throws a retryable error). */
  async function waitForOperation(operationId: string, context: CallContext): Promise<void> {
    const started = Date.now();
    let delay = config.bulk_poll.initial_ms;
    for (;;) {
      await sleep(delay, stopSignal).catch(() => {
        throw new CloudflareCallError('stopped', 'enforcer stopped while polling a bulk operation');
      });
      // A failed operation is thrown inside the call, so the action log shows it as the error it is.
      const status = await api.call({ ...context, operation: 'poll_bulk_operation', target: `operation ${operationId}` }, async (options) => {
        const answer = await lists.bulkOperations.get(operationId, { account_id: accountId }, options);
        if (answer.status === 'failed') {
          throw new CloudflareCallError('server', `bulk operation ${operationId} failed: ${'error' in answer ? answer.error : 'no reason given'}`);
        }
        return answer;
      });
      if (status.status === 'completed') return;
      if (Date.now() - started > config.bulk_poll.give_up_after_ms) {
        throw new CloudflareCallError('timeout', `bulk operation ${operationId} still ${status.status}; will check again later`);
      }
      delay = Math.min(delay * 2, config.bulk_poll.max_ms);
    }
  }

  return {
    /** Our list's id, created when missing (the WAF rule that uses it comes from `edgejail cloudflare setup`). */
    ensureList(): Promise<string> {
      // One lookup shared by concurrent callers (worker and reconciler), so the list is never created twice.
      listId ??= (async () => {
        const found = await findList();
        return found ? found.id : await createList();
      })();
      listId.catch(() => (listId = null));
      return listId;
    },

    findList,
    findLists,
    createList,

    addItems(items: Array<{ ip: string; comment: string }>, context: Omit<CallContext, 'operation'>): Promise<void> {
      return exclusive(async () => {
        const id = await this.ensureList();
        await acquireChanges(items.length);
        const { operation_id } = await api.call({ ...context, operation: 'add_list_items', target: `${items.length} items to list ${config.list_name}` }, (options) =>
          lists.items.create(id, { account_id: accountId, body: items }, options),
        );
        await waitForOperation(operation_id, { ...context, operation: 'poll_bulk_operation' });
      });
    },

    deleteItems(itemIds: string[], context: Omit<CallContext, 'operation'>): Promise<void> {
      return exclusive(async () => {
        const id = await this.ensureList();
        await acquireChanges(itemIds.length);
        const { operation_id } = await api.call({ ...context, operation: 'delete_list_items', target: `${itemIds.length} items from list ${config.list_name}` }, (options) =>
          lists.items.delete(id, { account_id: accountId, items: itemIds.map((itemId) => ({ id: itemId })) }, options),
        );
        await waitForOperation(operation_id, { ...context, operation: 'poll_bulk_operation' });
      });
    },

    /** Every item of the list, following cursors to the end. */
    async readAll(context: Omit<CallContext, 'operation'> = {}): Promise<ListItem[]> {
      const id = await this.ensureList();
      return readPages(id, undefined, context);
    },

    /** Items whose ip starts with `prefix` (Cloudflare's search for IP lists). */
    async search(prefix: string, context: Omit<CallContext, 'operation'> = {}): Promise<ListItem[]> {
      const id = await this.ensureList();
      return readPages(id, prefix, context);
    },

    /** Forget the cached list id (after a 404 on the list). */
    forgetList(): void {
      listId = null;
    },
  };

  async function readPages(id: string, search: string | undefined, context: Omit<CallContext, 'operation'>): Promise<ListItem[]> {
    const items: ListItem[] = [];
    let cursor: string | undefined;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const result = await api.call(
        { ...context, operation: 'read_list_items', target: `list ${config.list_name}${search ? ` search ${search}` : ''} page ${page}` },
        (options) =>
          lists.items.list(id, { account_id: accountId, per_page: ITEMS_PER_PAGE, ...(search ? { search } : {}), ...(cursor ? { cursor } : {}) }, options),
      );
      for (const item of result.result ?? []) {
        if ('ip' in item) items.push({ id: item.id, ip: item.ip, comment: item.comment ?? '' });
      }
      cursor = result.result_info?.cursors?.after;
      if (!cursor || !(result.result ?? []).length) break;
    }
    return items;
  }
}

export type ListApi = ReturnType<typeof createListApi>;
