// Custom IP lists (/accounts/{id}/rules/lists): lists, items read with cursor paging, and the
// asynchronous bulk operations that are the only way to write items.
import { randomBytes } from 'node:crypto';
import { CfError, cfError, newId, type Reply } from './envelope.ts';
import { formatNetwork, isSingleAddress, networkContains, networkOf, parseAddressOrCidr, type IpAddress, type IpNetwork } from './ip.ts';
import { intParam } from './access-rules.ts';

export interface ListInfo {
  id: string;
  name: string;
  description?: string;
  kind: 'ip';
  num_items: number;
  num_referencing_filters: number;
  created_on: string;
  modified_on: string;
}

export interface ListItem { id: string; ip: string; comment?: string; created_on: string; modified_on: string }

interface StoredItem { item: ListItem; network: IpNetwork }
interface StoredList {
  info: Omit<ListInfo, 'num_items' | 'num_referencing_filters'>;
  items: Map<string, StoredItem>;
  /** Items wider than one IPv4 address or one IPv6 /64, rebuilt after each write. */
  ranges?: StoredItem[];
}

type BulkStatus = 'pending' | 'running' | 'completed' | 'failed';
interface BulkOperation {
  id: string;
  startedAt: number;
  dueAt: number;
  status: BulkStatus;
  completed?: string;
  error?: string;
  /** Applies the write; returns an error message instead when it cannot be applied. */
  apply: () => string | null;
  forcedError?: string;
}

// Codes below are not published by Cloudflare (the OpenAPI schema only says "rejected"); see README.
const CODE = {
  invalidName: 10003,
  duplicateName: 10004,
  listNotFound: 10006,
  invalidItem: 10021,
  bulkPending: 10041,
  operationNotFound: 10042,
  listLimit: 10024,
  listReferenced: 10025,
  invalidBody: 10026,
} as const;

export const ITEM_LIMIT_ERROR = 'This list is at the maximum number of items'; // OpenAPI example for a failed operation

export interface ListStoreOptions {
  maxItems: number;
  maxLists: number;
  bulkOperationMs: number;
  /** Number of rules referencing `$name`, from the rulesets store. */
  referencingFilters: (name: string) => number;
}

export class ListStore {
  private readonly lists = new Map<string, StoredList>();
  private readonly operations = new Map<string, BulkOperation>();
  /** Set by a bulk_operation_failed fault: the next bulk operation fails with this message. */
  private pendingForcedFailure: string | null = null;

  constructor(private readonly opts: ListStoreOptions) {}

  clear(): void {
    this.lists.clear();
    this.operations.clear();
    this.pendingForcedFailure = null;
  }

  failNextBulkOperation(message: string): void {
    this.pendingForcedFailure = message;
  }

  /** Completes every bulk operation whose time has come. Called before each read or write. */
  settle(now: number): void {
    for (const op of this.operations.values()) {
      if (op.status === 'completed' || op.status === 'failed') continue;
      if (now < op.dueAt) {
        op.status = now < op.startedAt + this.opts.bulkOperationMs / 2 ? 'pending' : 'running';
        continue;
      }
      const error = op.forcedError ?? op.apply();
      op.status = error ? 'failed' : 'completed';
      if (error) op.error = error;
      op.completed = new Date(op.dueAt).toISOString();
    }
  }

  // ---- lists ----

  listAll(): ListInfo[] {
    return [...this.lists.values()].map((l) => this.describe(l));
  }

  byName(name: string): StoredList | undefined {
    for (const l of this.lists.values()) if (l.info.name === name) return l;
    return undefined;
  }

  create(body: unknown, now: Date): ListInfo {
    const b = objectBody(body);
    const name = b.name;
    if (typeof name !== 'string' || !/^[a-z0-9_]+$/.test(name) || name.length > 50) {
      throw cfError(400, CODE.invalidName, 'list name must match ^[a-z0-9_]+$ and be at most 50 characters');
    }
    if (b.kind !== 'ip') {
      throw cfError(400, CODE.invalidBody, `kind must be "ip" in this fake (got ${JSON.stringify(b.kind ?? null)})`);
    }
    if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 500)) {
      throw cfError(400, CODE.invalidBody, 'description must be a string of at most 500 characters');
    }
    if (this.byName(name)) throw cfError(400, CODE.duplicateName, `a list named ${name} already exists`);
    if (this.lists.size >= this.opts.maxLists) throw cfError(400, CODE.listLimit, `at most ${this.opts.maxLists} lists per account`);
    const stamp = now.toISOString();
    const list: StoredList = {
      info: { id: newId(), name, kind: 'ip', created_on: stamp, modified_on: stamp, ...(b.description !== undefined ? { description: b.description as string } : {}) },
      items: new Map(),
    };
    this.lists.set(list.info.id, list);
    return this.describe(list);
  }

  get(listId: string): ListInfo {
    return this.describe(this.find(listId));
  }

  update(listId: string, body: unknown, now: Date): ListInfo {
    const list = this.find(listId);
    const b = objectBody(body);
    if (b.description !== undefined) {
      if (typeof b.description !== 'string' || b.description.length > 500) {
        throw cfError(400, CODE.invalidBody, 'description must be a string of at most 500 characters');
      }
      list.info.description = b.description;
    }
    list.info.modified_on = now.toISOString();
    return this.describe(list);
  }

  delete(listId: string): { id: string } {
    const list = this.find(listId);
    if (this.opts.referencingFilters(list.info.name) > 0) {
      throw cfError(400, CODE.listReferenced, `list ${list.info.name} is referenced by a rule; remove the rule first`);
    }
    this.lists.delete(listId);
    return { id: listId };
  }

  // ---- items ----

  listItems(listId: string, query: URLSearchParams): Reply {
    const list = this.find(listId);
    const perPage = intParam(query, 'per_page', 25, 1, 500);
    const search = query.get('search');
    let items = [...list.items.values()].map((s) => s.item).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (search) items = items.filter((i) => i.ip.startsWith(search));
    const cursor = query.get('cursor');
    if (cursor) {
      const after = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!/^[0-9a-f]{32}$/.test(after)) throw cfError(400, CODE.invalidBody, 'invalid cursor');
      items = items.filter((i) => i.id > after);
    }
    const page = items.slice(0, perPage);
    const more = items.length > perPage;
    const resultInfo = more ? { cursors: { after: Buffer.from(page[page.length - 1]!.id).toString('base64url') } } : { cursors: {} };
    return { result: page.map((i) => ({ ...i })), result_info: resultInfo };
  }

  getItem(listId: string, itemId: string): ListItem {
    const list = this.find(listId);
    for (const s of list.items.values()) if (s.item.id === itemId) return { ...s.item };
    throw cfError(404, CODE.listNotFound, 'list item not found');
  }

  itemsOf(name: string): ListItem[] {
    const list = this.byName(name);
    return list ? [...list.items.values()].map((s) => ({ ...s.item })) : [];
  }

  /** POST: append; an entry for the same address or range replaces the old one's comment. */
  appendItems(listId: string, body: unknown, now: number): { operation_id: string } {
    const list = this.find(listId);
    const parsed = parseItems(body);
    return this.startOperation(now, () => this.applyUpsert(list, parsed, now, false));
  }

  /** PUT: the list becomes exactly these items. */
  replaceItems(listId: string, body: unknown, now: number): { operation_id: string } {
    const list = this.find(listId);
    const parsed = parseItems(body);
    return this.startOperation(now, () => this.applyUpsert(list, parsed, now, true));
  }

  /** DELETE with body {items:[{id}]}; ids not in the list are ignored. */
  deleteItems(listId: string, body: unknown, now: number): { operation_id: string } {
    const list = this.find(listId);
    const b = objectBody(body);
    if (!Array.isArray(b.items) || b.items.length === 0) {
      throw cfError(400, CODE.invalidBody, 'body must be {"items":[{"id":"<item id>"}, ...]} with at least one item');
    }
    const ids = new Set<string>();
    for (const it of b.items as unknown[]) {
      const id = (it as { id?: unknown } | null)?.id;
      if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) throw cfError(400, CODE.invalidBody, `invalid item id: ${JSON.stringify(id ?? null)}`);
      ids.add(id);
    }
    return this.startOperation(now, () => {
      for (const [key, s] of list.items) if (ids.has(s.item.id)) list.items.delete(key);
      delete list.ranges;
      list.info.modified_on = new Date(now + this.opts.bulkOperationMs).toISOString();
      return null;
    });
  }

  operation(operationId: string): { id: string; status: BulkStatus; completed?: string; error?: string } {
    const op = this.operations.get(operationId);
    if (!op) throw cfError(404, CODE.operationNotFound, 'bulk operation not found');
    const out: { id: string; status: BulkStatus; completed?: string; error?: string } = { id: op.id, status: op.status };
    if (op.completed) out.completed = op.completed;
    if (op.error) out.error = op.error;
    return out;
  }

  /** True if some item of list `name` covers ip. */
  covers(name: string, ip: IpAddress): boolean {
    const list = this.byName(name);
    if (!list) return false;
    // Most items are single IPv4 addresses or IPv6 /64s: look those up by key, scan only the rest.
    const exact = ip.version === 4 ? formatNetwork(networkOf(ip, 32)).slice(0, -3) : formatNetwork(networkOf(ip, 64));
    if (list.items.has(exact)) return true;
    list.ranges ??= [...list.items.values()].filter((s) => s.network.prefix < (s.network.version === 4 ? 32 : 64));
    return list.ranges.some((s) => networkContains(s.network, ip));
  }

  allListNames(): string[] {
    return [...this.lists.values()].map((l) => l.info.name);
  }

  state(): Array<ListInfo & { items: ListItem[] }> {
    return [...this.lists.values()].map((l) => ({ ...this.describe(l), items: [...l.items.values()].map((s) => ({ ...s.item })) }));
  }

  private startOperation(now: number, apply: () => string | null): { operation_id: string } {
    for (const op of this.operations.values()) {
      if (op.status === 'pending' || op.status === 'running') {
        throw cfError(400, CODE.bulkPending, `bulk operation ${op.id} is still ${op.status}; only one pending bulk operation is allowed per account`);
      }
    }
    // Cloudflare's operation ids are 32 hex characters too (lists_operation_id example).
    const id = randomBytes(16).toString('hex');
    const op: BulkOperation = { id, startedAt: now, dueAt: now + this.opts.bulkOperationMs, status: 'pending', apply };
    if (this.pendingForcedFailure !== null) {
      op.forcedError = this.pendingForcedFailure;
      this.pendingForcedFailure = null;
    }
    this.operations.set(id, op);
    return { operation_id: id };
  }

  private applyUpsert(list: StoredList, parsed: ParsedItem[], startedAt: number, replaceAll: boolean): string | null {
    const stamp = new Date(startedAt + this.opts.bulkOperationMs).toISOString();
    const next = replaceAll ? new Map<string, StoredItem>() : new Map(list.items);
    for (const p of parsed) {
      const existing = list.items.get(p.key);
      const item: ListItem = {
        id: existing?.item.id ?? newId(),
        ip: p.key,
        created_on: existing?.item.created_on ?? stamp,
        modified_on: stamp,
      };
      if (p.comment !== undefined) item.comment = p.comment;
      next.set(p.key, { item, network: p.network });
    }
    let total = 0;
    for (const l of this.lists.values()) total += l === list ? next.size : l.items.size;
    if (total > this.opts.maxItems) return ITEM_LIMIT_ERROR;
    list.items.clear();
    for (const [k, v] of next) list.items.set(k, v);
    delete list.ranges;
    list.info.modified_on = stamp;
    return null;
  }

  private find(listId: string): StoredList {
    const list = this.lists.get(listId);
    if (!list) throw cfError(404, CODE.listNotFound, 'list not found');
    return list;
  }

  private describe(l: StoredList): ListInfo {
    return { ...l.info, num_items: l.items.size, num_referencing_filters: this.opts.referencingFilters(l.info.name) };
  }
}

interface ParsedItem { key: string; network: IpNetwork; comment?: string }

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw cfError(400, CODE.invalidBody, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/**
 * Item rules from Cloudflare's custom-lists docs: IPv4 addresses, IPv4 CIDR /8–/32, IPv6 CIDR /4–/64.
 * A single IPv6 address is stored as its /64 (the finest IPv6 granularity a list holds).
 */
export function parseItems(body: unknown): ParsedItem[] {
  if (!Array.isArray(body)) throw cfError(400, CODE.invalidBody, 'request body must be a JSON array of {"ip": "...", "comment": "..."}');
  const out: ParsedItem[] = [];
  for (const raw of body) {
    const entry = raw as { ip?: unknown; comment?: unknown } | null;
    if (typeof entry !== 'object' || entry === null || typeof entry.ip !== 'string') {
      throw cfError(400, CODE.invalidItem, `each item needs an "ip" string; got ${JSON.stringify(raw)}`);
    }
    if (entry.comment !== undefined && typeof entry.comment !== 'string') {
      throw cfError(400, CODE.invalidItem, `comment must be a string for ${entry.ip}`);
    }
    const net = parseAddressOrCidr(entry.ip.trim());
    if (!net) throw cfError(400, CODE.invalidItem, `not an IP address or CIDR range: ${entry.ip}`);
    let network: IpNetwork;
    if (net.version === 4) {
      if (net.prefix < 8) throw cfError(400, CODE.invalidItem, `IPv4 ranges must be /8 to /32: ${entry.ip}`);
      network = net;
    } else if (isSingleAddress(net)) {
      network = networkOf({ version: 6, value: net.base }, 64);
    } else {
      if (net.prefix < 4 || net.prefix > 64) throw cfError(400, CODE.invalidItem, `IPv6 ranges must be /4 to /64: ${entry.ip}`);
      network = net;
    }
    const key = network.version === 4 && network.prefix === 32 ? formatNetwork(network).slice(0, -3) : formatNetwork(network);
    const item: ParsedItem = { key, network };
    if (entry.comment !== undefined) item.comment = entry.comment as string;
    out.push(item);
  }
  return out;
}

export { CfError };
