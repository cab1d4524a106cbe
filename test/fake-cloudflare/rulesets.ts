// Rulesets, just enough for a WAF custom rule `ip.src in $<list>`: phase entrypoints (GET/PUT),
// one ruleset by id, and adding / editing / deleting single rules.
import { cfError, newId } from './envelope.ts';

export type RulesetScope = 'account' | 'zone';

export interface RulesetRule {
  id: string;
  version: string;
  action: string;
  expression: string;
  description: string;
  enabled: boolean;
  last_updated: string;
  ref: string;
}

export interface Ruleset {
  id: string;
  name: string;
  description: string;
  kind: 'root' | 'zone';
  phase: string;
  version: string;
  last_updated: string;
  rules: RulesetRule[];
}

const ACTIONS = ['block', 'challenge', 'js_challenge', 'managed_challenge', 'log', 'skip', 'execute', 'rewrite', 'redirect', 'route', 'score', 'serve_error', 'set_config', 'compress_response', 'set_cache_settings', 'log_custom_field', 'ddos_dynamic', 'force_connection_close'];
const PHASES = ['http_request_firewall_custom', 'http_request_firewall_managed', 'http_ratelimit', 'http_request_transform', 'http_request_late_transform', 'http_response_headers_transform', 'http_request_dynamic_redirect', 'http_request_redirect', 'http_config_settings', 'http_request_origin', 'http_request_cache_settings', 'http_custom_errors', 'http_response_firewall_managed', 'http_log_custom_fields', 'http_response_compression', 'http_request_sbfm', 'ddos_l7', 'magic_transit'];

// 10003 and its message for a phase without an entrypoint are reported by many clients (README);
// the other codes are our choice.
const CODE = { notFound: 10003, invalid: 20021, ruleNotFound: 10004 } as const;

/** Names of lists referenced positively as `ip.src in $name` (not under a `not`). */
export function referencedLists(expression: string): string[] {
  const out: string[] = [];
  const re = /(\bnot\s+|!\s*)?\(?\s*ip\.src\s+in\s+\$([a-z0-9_]+)/g;
  for (let m = re.exec(expression); m; m = re.exec(expression)) if (!m[1]) out.push(m[2]!);
  return out;
}

export interface RulesetStoreOptions {
  listExists: (name: string) => boolean;
}

export class RulesetStore {
  private readonly byId = new Map<string, { scope: RulesetScope; ruleset: Ruleset }>();
  private readonly entrypoints = new Map<string, string>(); // `${scope}|${phase}` -> ruleset id

  constructor(private readonly opts: RulesetStoreOptions) {}

  clear(): void {
    this.byId.clear();
    this.entrypoints.clear();
  }

  getEntrypoint(scope: RulesetScope, phase: string): Ruleset {
    checkPhase(phase);
    const id = this.entrypoints.get(`${scope}|${phase}`);
    if (!id) throw cfError(404, CODE.notFound, `could not find entrypoint ruleset in the ${phase} phase`);
    return structuredClone(this.byId.get(id)!.ruleset);
  }

  putEntrypoint(scope: RulesetScope, phase: string, body: unknown, now: Date): Ruleset {
    checkPhase(phase);
    const b = objectBody(body);
    if (!Array.isArray(b.rules)) throw cfError(400, CODE.invalid, 'rules must be an array');
    const key = `${scope}|${phase}`;
    const existingId = this.entrypoints.get(key);
    const existing = existingId ? this.byId.get(existingId)!.ruleset : undefined;
    const stamp = now.toISOString();
    const rules = (b.rules as unknown[]).map((r) => this.buildRule(r, stamp, existing?.rules));
    const ruleset: Ruleset = {
      id: existing?.id ?? newId(),
      name: typeof b.name === 'string' ? b.name : existing?.name ?? 'default',
      description: typeof b.description === 'string' ? b.description : existing?.description ?? '',
      kind: scope === 'zone' ? 'zone' : 'root',
      phase,
      version: String(Number(existing?.version ?? '0') + 1),
      last_updated: stamp,
      rules,
    };
    this.byId.set(ruleset.id, { scope, ruleset });
    this.entrypoints.set(key, ruleset.id);
    return structuredClone(ruleset);
  }

  /** GET /rulesets: every ruleset of the scope without its rules, in one page (no cursor). */
  list(scope: RulesetScope): Array<Omit<Ruleset, 'rules'>> {
    const out: Array<Omit<Ruleset, 'rules'>> = [];
    for (const entry of this.byId.values()) {
      if (entry.scope !== scope) continue;
      const { rules: _rules, ...summary } = entry.ruleset;
      out.push(structuredClone(summary));
    }
    return out;
  }

  get(scope: RulesetScope, rulesetId: string): Ruleset {
    return structuredClone(this.find(scope, rulesetId));
  }

  addRule(scope: RulesetScope, rulesetId: string, body: unknown, now: Date): Ruleset {
    const rs = this.find(scope, rulesetId);
    const stamp = now.toISOString();
    const rule = this.buildRule(body, stamp, undefined);
    const b = body as Record<string, unknown>;
    const position = (b.position ?? {}) as { index?: unknown; before?: unknown; after?: unknown };
    let at = rs.rules.length;
    if (typeof position.index === 'number') at = Math.max(0, Math.min(rs.rules.length, position.index - 1));
    rs.rules.splice(at, 0, rule);
    this.bump(rs, stamp);
    return structuredClone(rs);
  }

  editRule(scope: RulesetScope, rulesetId: string, ruleId: string, body: unknown, now: Date): Ruleset {
    const rs = this.find(scope, rulesetId);
    const i = rs.rules.findIndex((r) => r.id === ruleId);
    if (i < 0) throw cfError(404, CODE.ruleNotFound, `could not find rule ${ruleId} in ruleset ${rulesetId}`);
    const stamp = now.toISOString();
    const merged = { ...rs.rules[i], ...objectBody(body), id: ruleId };
    const rule = this.buildRule(merged, stamp, rs.rules);
    rule.version = String(Number(rs.rules[i]!.version) + 1);
    rs.rules[i] = rule;
    this.bump(rs, stamp);
    return structuredClone(rs);
  }

  deleteRule(scope: RulesetScope, rulesetId: string, ruleId: string, now: Date): Ruleset {
    const rs = this.find(scope, rulesetId);
    const i = rs.rules.findIndex((r) => r.id === ruleId);
    if (i < 0) throw cfError(404, CODE.ruleNotFound, `could not find rule ${ruleId} in ruleset ${rulesetId}`);
    rs.rules.splice(i, 1);
    this.bump(rs, now.toISOString());
    return structuredClone(rs);
  }

  /** Lists that an enabled `block` rule of a custom-firewall entrypoint puts in force. */
  blockingLists(): Set<string> {
    const names = new Set<string>();
    for (const scope of ['account', 'zone'] as const) {
      const id = this.entrypoints.get(`${scope}|http_request_firewall_custom`);
      if (!id) continue;
      for (const r of this.byId.get(id)!.ruleset.rules) {
        if (r.enabled && r.action === 'block') for (const n of referencedLists(r.expression)) names.add(n);
      }
    }
    return names;
  }

  /** How many rules (any ruleset) mention `$name`: Cloudflare's num_referencing_filters. */
  referencing(name: string): number {
    let n = 0;
    for (const { ruleset } of this.byId.values()) {
      for (const r of ruleset.rules) if (new RegExp(`\\$${name}\\b`).test(r.expression)) n++;
    }
    return n;
  }

  state(): Array<Ruleset & { scope: RulesetScope }> {
    return [...this.byId.values()].map(({ scope, ruleset }) => ({ scope, ...structuredClone(ruleset) }));
  }

  private bump(rs: Ruleset, stamp: string): void {
    rs.version = String(Number(rs.version) + 1);
    rs.last_updated = stamp;
  }

  private find(scope: RulesetScope, rulesetId: string): Ruleset {
    const found = this.byId.get(rulesetId);
    if (!found || found.scope !== scope) throw cfError(404, CODE.notFound, `could not find ruleset ${rulesetId}`);
    return found.ruleset;
  }

  private buildRule(raw: unknown, stamp: string, previous: RulesetRule[] | undefined): RulesetRule {
    const r = objectBody(raw);
    if (typeof r.expression !== 'string' || r.expression.trim() === '') throw cfError(400, CODE.invalid, 'rule expression is required');
    if (typeof r.action !== 'string' || !ACTIONS.includes(r.action)) {
      throw cfError(400, CODE.invalid, `rule action must be one of ${ACTIONS.join(', ')}; got ${JSON.stringify(r.action ?? null)}`);
    }
    for (const name of r.expression.match(/\$[a-z0-9_]+/g) ?? []) {
      if (!this.opts.listExists(name.slice(1))) throw cfError(400, CODE.invalid, `filter parsing error: list ${name} does not exist`);
    }
    if (r.enabled !== undefined && typeof r.enabled !== 'boolean') throw cfError(400, CODE.invalid, 'enabled must be a boolean');
    const prev = typeof r.id === 'string' ? previous?.find((p) => p.id === r.id) : undefined;
    return {
      id: prev?.id ?? newId(),
      version: prev ? String(Number(prev.version) + 1) : '1',
      action: r.action,
      expression: r.expression,
      description: typeof r.description === 'string' ? r.description : '',
      enabled: r.enabled === undefined ? true : r.enabled,
      last_updated: stamp,
      ref: typeof r.ref === 'string' ? r.ref : prev?.ref ?? newId(),
    };
  }
}

function checkPhase(phase: string): void {
  if (!PHASES.includes(phase)) throw cfError(400, CODE.invalid, `unknown ruleset phase: ${phase}`);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw cfError(400, CODE.invalid, 'request body must be a JSON object');
  return body as Record<string, unknown>;
}
