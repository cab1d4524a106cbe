// IP Access Rules (/accounts|zones/{id}/firewall/access_rules/rules): validation, storage indexed by
// value, the list filters the SDK sends, and the block check used by isBlocked().
import { CfError, cfError, newId, paginate, type Reply } from './envelope.ts';
import {
  formatIPv6, isSingleAddress, networkContains, networkOf, parseCidr, parseIPv4, parseIPv6,
  type IpAddress, type IpNetwork,
} from './ip.ts';

export type Scope = 'account' | 'zone';
export const MODES = ['block', 'challenge', 'whitelist', 'js_challenge', 'managed_challenge'] as const;
export type Mode = (typeof MODES)[number];
export const TARGETS = ['ip', 'ip6', 'ip_range', 'asn', 'country'] as const;
export type Target = (typeof TARGETS)[number];

/** Cloudflare's result shape (firewall_schemas-rule in the OpenAPI schema). */
export interface AccessRule {
  id: string;
  allowed_modes: Mode[];
  configuration: { target: Target; value: string };
  created_on: string;
  modified_on: string;
  mode: Mode;
  notes: string;
  scope: { id: string; type: 'organization' | 'zone'; name?: string };
}

interface StoredRule {
  rule: AccessRule;
  scope: Scope;
  /** For ip / ip6 / ip_range: the network it covers, for isBlocked(). */
  network: IpNetwork | null;
}

// Codes Cloudflare is documented (or widely reported) to use; see README "Sources".
const NOT_FOUND = { status: 404, code: 10001, message: 'firewallaccessrules.api.not_found' };
const DUPLICATE = { status: 400, code: 10009, message: 'firewallaccessrules.api.duplicate_of_existing' };
const VALIDATION_CODE = 10014; // the message prefix is reported by clients; the number is our choice
const QUOTA_CODE = 10019; // not published; our choice

function validation(detail: string): CfError {
  return cfError(400, VALIDATION_CODE, `firewallaccessrules.api.validation_error:${detail}`);
}

const ALL_MODES: Mode[] = ['whitelist', 'block', 'challenge', 'js_challenge', 'managed_challenge'];

/** Canonical value and covered network for a configuration, or a validation error. */
export function normaliseConfiguration(target: unknown, value: unknown): { target: Target; value: string; network: IpNetwork | null } {
  if (typeof target !== 'string' || !(TARGETS as readonly string[]).includes(target)) {
    throw validation(`unsupported target received: ${typeof target === 'string' ? target : ''}`);
  }
  if (typeof value !== 'string' || value.trim() === '') throw validation('invalid value provided');
  const raw = value.trim();
  switch (target as Target) {
    case 'ip': {
      const v = parseIPv4(raw);
      if (v === null) throw validation('invalid ip provided');
      return { target: 'ip', value: raw, network: { version: 4, base: v, prefix: 32 } };
    }
    case 'ip6': {
      const v = parseIPv6(raw);
      if (v === null) throw validation('invalid ip6 provided');
      return { target: 'ip6', value: formatIPv6(v), network: { version: 6, base: v, prefix: 128 } };
    }
    case 'ip_range': {
      const c = parseCidr(raw);
      const allowed = c && (c.address.version === 4 ? [16, 24] : [32, 48, 64]).includes(c.prefix);
      if (!c || !allowed) throw validation('invalid ip range provided');
      const network = networkOf(c.address, c.prefix);
      const text = c.address.version === 4 ? raw : `${formatIPv6(c.address.value)}/${c.prefix}`;
      return { target: 'ip_range', value: text, network };
    }
    case 'asn': {
      const m = /^(?:AS)?(\d{1,10})$/i.exec(raw);
      if (!m || Number(m[1]) > 4294967295) throw validation('invalid asn provided');
      return { target: 'asn', value: `AS${Number(m[1])}`, network: null };
    }
    case 'country': {
      const v = raw.toUpperCase();
      if (!/^[A-Z][A-Z0-9]$/.test(v)) throw validation('invalid country provided');
      return { target: 'country', value: v, network: null };
    }
  }
}

function parseMode(mode: unknown): Mode {
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
    throw validation(`invalid mode received: ${typeof mode === 'string' ? mode : ''}`);
  }
  return mode as Mode;
}

function parseNotes(notes: unknown): string {
  if (notes === undefined || notes === null) return '';
  if (typeof notes !== 'string') throw validation('notes must be a string');
  return notes;
}

export interface AccessRuleStoreOptions {
  accountId: string;
  zoneId: string;
  zoneName: string;
  maxRules: number;
}

export class AccessRuleStore {
  private readonly byId = new Map<string, StoredRule>();
  /** `${scope}|${value}` -> rule: Cloudflare refuses a second rule for a value in one scope. */
  private readonly byScopeValue = new Map<string, StoredRule>();
  /** Block-mode single-address rules by canonical address text, for O(1) isBlocked(). */
  private readonly blockedAddresses = new Map<string, number>();
  /** Block-mode ranges (few in practice), scanned linearly. */
  private readonly blockedRanges = new Set<StoredRule>();

  constructor(private readonly opts: AccessRuleStoreOptions) {}

  clear(): void {
    this.byId.clear();
    this.byScopeValue.clear();
    this.blockedAddresses.clear();
    this.blockedRanges.clear();
  }

  all(scope?: Scope): AccessRule[] {
    const out: AccessRule[] = [];
    for (const s of this.byId.values()) if (!scope || s.scope === scope) out.push(structuredClone(s.rule));
    return out;
  }

  create(scope: Scope, body: unknown, now: Date): AccessRule {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validation('request body must be a JSON object');
    const b = body as Record<string, unknown>;
    const mode = parseMode(b.mode);
    const conf = b.configuration;
    if (typeof conf !== 'object' || conf === null) throw validation('configuration is required');
    const c = conf as Record<string, unknown>;
    const norm = normaliseConfiguration(c.target, c.value);
    const notes = parseNotes(b.notes);
    if (this.byScopeValue.has(`${scope}|${norm.value}`)) throw cfError(DUPLICATE.status, DUPLICATE.code, DUPLICATE.message);
    if (this.byId.size >= this.opts.maxRules) {
      throw cfError(400, QUOTA_CODE, `firewallaccessrules.api.quota_exceeded: at most ${this.opts.maxRules} rules per account`);
    }
    const stamp = now.toISOString();
    const rule: AccessRule = {
      id: newId(),
      allowed_modes: [...ALL_MODES],
      configuration: { target: norm.target, value: norm.value },
      created_on: stamp,
      modified_on: stamp,
      mode,
      notes,
      scope: scope === 'account'
        ? { id: this.opts.accountId, type: 'organization' }
        : { id: this.opts.zoneId, type: 'zone', name: this.opts.zoneName },
    };
    this.insert({ rule, scope, network: norm.network });
    return structuredClone(rule);
  }

  get(scope: Scope, id: string): AccessRule {
    return structuredClone(this.find(scope, id).rule);
  }

  edit(scope: Scope, id: string, body: unknown, now: Date): AccessRule {
    const stored = this.find(scope, id);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validation('request body must be a JSON object');
    const b = body as Record<string, unknown>;
    // Only mode and notes can change; a configuration that differs is refused rather than ignored.
    if (b.configuration !== undefined) {
      const c = (b.configuration ?? {}) as Record<string, unknown>;
      const norm = normaliseConfiguration(c.target, c.value);
      if (norm.target !== stored.rule.configuration.target || norm.value !== stored.rule.configuration.value) {
        throw validation('configuration cannot be changed, only mode and notes');
      }
    }
    const mode = b.mode === undefined ? stored.rule.mode : parseMode(b.mode);
    const notes = b.notes === undefined ? stored.rule.notes : parseNotes(b.notes);
    this.unindexBlock(stored);
    stored.rule.mode = mode;
    stored.rule.notes = notes;
    stored.rule.modified_on = now.toISOString();
    this.indexBlock(stored);
    return structuredClone(stored.rule);
  }

  delete(scope: Scope, id: string): { id: string } {
    const stored = this.find(scope, id);
    this.remove(stored);
    return { id };
  }

  /** Simulates someone deleting the rule in the dashboard; every scope. */
  deleteByValue(value: string): boolean {
    let deleted = false;
    const candidates = new Set([value.trim()]);
    const v6 = parseIPv6(value.trim());
    if (v6 !== null) candidates.add(formatIPv6(v6));
    for (const scope of ['account', 'zone'] as const) {
      for (const v of candidates) {
        const s = this.byScopeValue.get(`${scope}|${v}`);
        if (s) { this.remove(s); deleted = true; }
      }
    }
    return deleted;
  }

  /** Adds a rule directly, as another tool or a person would; validated like the API does. */
  addForeign(input: { scope: Scope; mode: string; target: string; value: string; notes?: string }, now: Date): AccessRule {
    return this.create(input.scope, { mode: input.mode, configuration: { target: input.target, value: input.value }, notes: input.notes }, now);
  }

  isBlocked(ip: IpAddress, text: string): boolean {
    if ((this.blockedAddresses.get(text) ?? 0) > 0) return true;
    for (const s of this.blockedRanges) if (s.network && networkContains(s.network, ip)) return true;
    return false;
  }

  list(scope: Scope, query: URLSearchParams): Reply {
    const page = intParam(query, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
    // Cloudflare's documented range for this endpoint's per_page is 5..1000 (default 50); see README.
    const perPage = intParam(query, 'per_page', 50, 5, 1000);
    const match = query.get('match') ?? 'all';
    if (match !== 'all' && match !== 'any') throw validation(`invalid match received: ${match}`);

    const filters: Array<(r: AccessRule) => boolean> = [];
    const target = query.get('configuration.target');
    if (target !== null) {
      if (!(TARGETS as readonly string[]).includes(target)) throw validation(`unsupported target received: ${target}`);
      filters.push((r) => r.configuration.target === target);
    }
    const value = query.get('configuration.value');
    if (value !== null) {
      const v6 = parseIPv6(value);
      const wanted = v6 !== null ? formatIPv6(v6) : value;
      const cidr = parseCidr(value);
      const wantedRange = cidr && cidr.address.version === 6 ? `${formatIPv6(cidr.address.value)}/${cidr.prefix}` : wanted;
      filters.push((r) => r.configuration.value === wanted || r.configuration.value === wantedRange
        || r.configuration.value.toUpperCase() === value.toUpperCase());
    }
    const mode = query.get('mode');
    if (mode !== null) {
      parseMode(mode);
      filters.push((r) => r.mode === mode);
    }
    const notes = query.get('notes');
    if (notes !== null) {
      const needle = notes.toLowerCase();
      filters.push((r) => r.notes.toLowerCase().includes(needle));
    }

    let rules: AccessRule[] = [];
    for (const s of this.byId.values()) {
      if (s.scope !== scope) continue;
      const ok = filters.length === 0 || (match === 'all' ? filters.every((f) => f(s.rule)) : filters.some((f) => f(s.rule)));
      if (ok) rules.push(s.rule);
    }

    const order = query.get('order');
    if (order !== null) {
      const key: Record<string, (r: AccessRule) => string> = {
        'configuration.target': (r) => r.configuration.target,
        'configuration.value': (r) => r.configuration.value,
        mode: (r) => r.mode,
      };
      const get = key[order];
      if (!get) throw validation(`invalid order received: ${order}`);
      const direction = query.get('direction') ?? 'asc';
      if (direction !== 'asc' && direction !== 'desc') throw validation(`invalid direction received: ${direction}`);
      const sign = direction === 'asc' ? 1 : -1;
      rules = [...rules].sort((a, b) => sign * get(a).localeCompare(get(b)));
    }

    const { page: slice, info } = paginate(rules, page, perPage);
    return { result: slice.map((r) => structuredClone(r)), result_info: info };
  }

  private find(scope: Scope, id: string): StoredRule {
    const s = this.byId.get(id);
    if (!s || s.scope !== scope) throw cfError(NOT_FOUND.status, NOT_FOUND.code, NOT_FOUND.message);
    return s;
  }

  private insert(s: StoredRule): void {
    this.byId.set(s.rule.id, s);
    this.byScopeValue.set(`${s.scope}|${s.rule.configuration.value}`, s);
    this.indexBlock(s);
  }

  private remove(s: StoredRule): void {
    this.unindexBlock(s);
    this.byId.delete(s.rule.id);
    this.byScopeValue.delete(`${s.scope}|${s.rule.configuration.value}`);
  }

  private indexBlock(s: StoredRule): void {
    if (s.rule.mode !== 'block' || !s.network) return;
    if (isSingleAddress(s.network)) {
      const key = s.rule.configuration.value;
      this.blockedAddresses.set(key, (this.blockedAddresses.get(key) ?? 0) + 1);
    } else {
      this.blockedRanges.add(s);
    }
  }

  private unindexBlock(s: StoredRule): void {
    if (s.rule.mode !== 'block' || !s.network) return;
    if (isSingleAddress(s.network)) {
      const key = s.rule.configuration.value;
      const n = (this.blockedAddresses.get(key) ?? 0) - 1;
      if (n > 0) this.blockedAddresses.set(key, n); else this.blockedAddresses.delete(key);
    } else {
      this.blockedRanges.delete(s);
    }
  }
}

export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CfError(400, [{ code: 1004, message: `${name} must be an integer between ${min} and ${max}, got "${raw}"` }]);
  }
  return n;
}
