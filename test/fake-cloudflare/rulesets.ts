// Rulesets, enough for WAF custom rules: phase entrypoints (GET/PUT), creating a ruleset
// (the safe way to create a missing entrypoint), one ruleset by id, and adding / editing /
// deleting single rules, with the validation Cloudflare applies to them.
import { CfError, newId, type CfMessage } from './envelope.ts';

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
  kind: 'root' | 'zone' | 'custom';
  phase: string;
  version: string;
  last_updated: string;
  rules: RulesetRule[];
}

// The enums of Cloudflare's OpenAPI schema (rulesets_RequestRule's discriminator, rulesets_RulesetPhase).
const ACTIONS = ['block', 'challenge', 'compress_response', 'ddos_dynamic', 'execute', 'force_connection_close', 'js_challenge', 'log', 'log_custom_field', 'managed_challenge', 'redirect', 'rewrite', 'route', 'score', 'serve_error', 'set_cache_control', 'set_cache_settings', 'set_cache_tags', 'set_config', 'skip', 'transform_response_html'];
const PHASES = ['ddos_l4', 'ddos_l7', 'http_config_settings', 'http_custom_errors', 'http_log_custom_fields', 'http_ratelimit', 'http_request_cache_settings', 'http_request_dynamic_redirect', 'http_request_firewall_custom', 'http_request_firewall_managed', 'http_request_late_transform', 'http_request_origin', 'http_request_redirect', 'http_request_sanitize', 'http_request_sbfm', 'http_request_transform', 'http_response_cache_settings', 'http_response_compression', 'http_response_firewall_managed', 'http_response_headers_transform', 'magic_transit', 'magic_transit_ids_managed', 'magic_transit_managed', 'magic_transit_ratelimit'];
/** What a custom rule may do (Cloudflare's WAF custom rules docs: "Actions"). */
const CUSTOM_PHASE = 'http_request_firewall_custom';
const CUSTOM_RULE_ACTIONS = ['block', 'challenge', 'js_challenge', 'managed_challenge', 'log', 'skip'];
/** Documented: "maximum rule expression length" is 4,096 characters. */
export const MAX_EXPRESSION_LENGTH = 4096;

// 10003 for a phase without an entrypoint, and 20217 for a second entrypoint, are reported by
// clients (README); the others are our choice.
const CODE = { notFound: 10003, invalid: 20021, ruleNotFound: 10004, tooManyRulesets: 20217, tooManyRules: 20218 } as const;

/** A rulesets error: Cloudflare names the offending field with a JSON pointer. */
function invalid(message: string, pointer?: string, code: number = CODE.invalid, status = 400): CfError {
  const m: CfMessage = { code, message };
  if (pointer) m.source = { pointer };
  return new CfError(status, [m]);
}

/** Names of lists referenced positively as `ip.src in $name` (not under a `not`). */
export function referencedLists(expression: string): string[] {
  const out: string[] = [];
  const re = /(\bnot\s+|!\s*)?\(?\s*ip\.src\s+in\s+\$([a-z0-9_]+)/g;
  for (let m = re.exec(expression); m; m = re.exec(expression)) if (!m[1]) out.push(m[2]!);
  return out;
}

// The Rules language, as far as the fake checks it: fields from Cloudflare's "Fields reference"
// that the tests and the product use, operators and functions. An unknown name is refused,
// as Cloudflare refuses it, so a typo in a rule we generate fails a test instead of a deploy.
const FIELDS = new Set([
  'http.host', 'http.request.method', 'http.request.uri', 'http.request.uri.path', 'http.request.uri.query', 'http.request.full_uri',
  'http.request.version', 'http.referer', 'http.user_agent', 'http.cookie', 'http.x_forwarded_for', 'http.request.cookies',
  'http.request.headers', 'http.request.uri.args', 'http.request.body.raw', 'http.request.body.form',
  'ip.src', 'ip.src.country', 'ip.src.asnum', 'ip.src.continent', 'ip.geoip.country', 'ip.geoip.asnum',
  'cf.client.bot', 'cf.threat_score', 'cf.bot_management.score', 'cf.bot_management.verified_bot', 'cf.colo.id', 'ssl',
]);
const WORDS = new Set(['and', 'or', 'not', 'xor', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'contains', 'matches', 'wildcard', 'strict', 'true', 'false']);
const FUNCTIONS = new Set(['lower', 'upper', 'len', 'any', 'all', 'starts_with', 'ends_with', 'concat', 'url_decode', 'regex_replace', 'to_string']);

/** Null when the expression parses as far as the fake checks; otherwise Cloudflare's kind of message. */
export function expressionProblem(expression: string): string | null {
  if (expression.length > MAX_EXPRESSION_LENGTH) return `the expression is ${expression.length} characters long; the maximum is ${MAX_EXPRESSION_LENGTH}`;
  const depth: string[] = [];
  const closing: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  let i = 0;
  const at = (pos: number, why: string) => `filter parsing error (1:${pos + 1}): ${expression}\n${' '.repeat(pos)}^\n${why}`;
  while (i < expression.length) {
    const ch = expression[i]!;
    // r"..." is a raw string: the same as a string here.
    if (ch === 'r' && expression[i + 1] === '"' && !/[A-Za-z0-9_.]/.test(expression[i - 1] ?? '')) { i++; continue; }
    if (ch === '"') {
      const start = i++;
      while (i < expression.length && expression[i] !== '"') i += expression[i] === '\\' ? 2 : 1;
      if (i >= expression.length) return at(start, 'unterminated string');
      i++;
      continue;
    }
    if (ch in closing) { depth.push(closing[ch]!); i++; continue; }
    if (ch === ')' || ch === '}' || ch === ']') {
      if (depth.pop() !== ch) return at(i, `unexpected ${ch}`);
      i++;
      continue;
    }
    if (ch === '$') {
      const m = /^\$[a-z0-9_]+/.exec(expression.slice(i));
      if (!m) return at(i, 'expected a list name after $');
      i += m[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(expression.slice(i));
    if (word) {
      const name = word[0];
      const isFunction = expression.slice(i + name.length).trimStart().startsWith('(');
      // Inside braces bare words are values of a set (e.g. HTTP methods are strings there anyway).
      const inSet = depth.at(-1) === '}';
      if (!inSet && !WORDS.has(name) && !FIELDS.has(name) && !(isFunction && FUNCTIONS.has(name))) return at(i, `unknown identifier "${name}"`);
      i += name.length;
      continue;
    }
    i++;
  }
  if (depth.length) return at(expression.length, `missing ${depth.at(-1)}`);
  return null;
}

export interface RulesetStoreOptions {
  listExists: (name: string) => boolean;
  /** Rules per custom-rules phase and scope: 5 on Free, 20 Pro, 100 Business, 1,000 Enterprise. */
  maxCustomRules?: number;
}

type Position = { kind: 'end' } | { kind: 'index'; index: number } | { kind: 'before' | 'after'; id: string };

export class RulesetStore {
  private readonly byId = new Map<string, { scope: RulesetScope; ruleset: Ruleset }>();
  private readonly entrypoints = new Map<string, string>(); // `${scope}|${phase}` -> ruleset id
  private readonly maxCustomRules: number;

  constructor(private readonly opts: RulesetStoreOptions) {
    this.maxCustomRules = opts.maxCustomRules ?? 1000;
  }

  clear(): void {
    this.byId.clear();
    this.entrypoints.clear();
  }

  getEntrypoint(scope: RulesetScope, phase: string): Ruleset {
    checkPhase(phase);
    const id = this.entrypoints.get(`${scope}|${phase}`);
    if (!id) throw invalid(`could not find entrypoint ruleset in the ${phase} phase`, undefined, CODE.notFound, 404);
    return structuredClone(this.byId.get(id)!.ruleset);
  }

  /** PUT: replaces every rule of the entrypoint (creating it when absent). `dryRun` checks only. */
  putEntrypoint(scope: RulesetScope, phase: string, body: unknown, now: Date, dryRun = false): Ruleset | null {
    checkPhase(phase);
    const b = objectBody(body);
    if (b.rules !== undefined && !Array.isArray(b.rules)) throw invalid('rules must be an array', '/rules');
    const key = `${scope}|${phase}`;
    const existingId = this.entrypoints.get(key);
    const existing = existingId ? this.byId.get(existingId)!.ruleset : undefined;
    const stamp = now.toISOString();
    const raw = (b.rules ?? []) as unknown[];
    const rules = raw.map((r, i) => this.buildRule(r, stamp, phase, `/rules/${i}`, existing?.rules));
    this.checkRuleCount(phase, rules.length);
    const ruleset: Ruleset = {
      id: existing?.id ?? newId(),
      name: typeof b.name === 'string' && b.name ? b.name : existing?.name ?? 'default',
      description: typeof b.description === 'string' ? b.description : existing?.description ?? '',
      kind: scope === 'zone' ? 'zone' : 'root',
      phase,
      version: String(Number(existing?.version ?? '0') + 1),
      last_updated: stamp,
      rules,
    };
    if (dryRun) return null;
    this.byId.set(ruleset.id, { scope, ruleset });
    this.entrypoints.set(key, ruleset.id);
    return structuredClone(ruleset);
  }

  /**
   * POST /rulesets. A `zone` (or account `root`) ruleset becomes its phase's entrypoint, and
   * there can be only one: a second is refused (20217), so this never replaces anyone's rules.
   */
  createRuleset(scope: RulesetScope, body: unknown, now: Date, dryRun = false): Ruleset | null {
    const b = objectBody(body);
    if (typeof b.name !== 'string' || b.name.length === 0) throw invalid('name is required', '/name');
    const entryKind = scope === 'zone' ? 'zone' : 'root';
    if (typeof b.kind !== 'string') throw invalid('kind is required', '/kind');
    if (b.kind !== entryKind && b.kind !== 'custom') {
      throw invalid(`'${String(b.kind)}' is not a valid value for kind${b.kind === 'managed' ? ' because managed rulesets are provided by Cloudflare' : ` in ${scope === 'zone' ? 'a zone' : 'an account'}`}`, '/kind');
    }
    if (typeof b.phase !== 'string') throw invalid('phase is required', '/phase');
    checkPhase(b.phase);
    if (b.description !== undefined && typeof b.description !== 'string') throw invalid('description must be a string', '/description');
    if (b.rules !== undefined && !Array.isArray(b.rules)) throw invalid('rules must be an array', '/rules');
    const phase = b.phase;
    const key = `${scope}|${phase}`;
    if (b.kind === entryKind && this.entrypoints.has(key)) {
      throw invalid(`'${b.kind}' is not a valid value for kind because exceeded maximum number of ${b.kind} rulesets for phase ${phase}`, '/kind', CODE.tooManyRulesets);
    }
    const stamp = now.toISOString();
    const rules = ((b.rules ?? []) as unknown[]).map((r, i) => this.buildRule(r, stamp, phase, `/rules/${i}`, undefined));
    if (b.kind === entryKind) this.checkRuleCount(phase, rules.length);
    const ruleset: Ruleset = {
      id: newId(), name: b.name, description: (b.description as string | undefined) ?? '', kind: b.kind as Ruleset['kind'],
      phase, version: '1', last_updated: stamp, rules,
    };
    if (dryRun) return null;
    this.byId.set(ruleset.id, { scope, ruleset });
    if (b.kind === entryKind) this.entrypoints.set(key, ruleset.id);
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

  /** POST .../rules: one rule, at the end unless `position` says otherwise. */
  addRule(scope: RulesetScope, rulesetId: string, body: unknown, now: Date, dryRun = false): Ruleset | null {
    const rs = this.find(scope, rulesetId);
    const stamp = now.toISOString();
    const b = objectBody(body);
    const rule = this.buildRule(b, stamp, rs.phase, '', undefined);
    if (rs.rules.some((r) => r.ref === rule.ref)) throw invalid(`a rule with ref '${rule.ref}' already exists in the ruleset`, '/ref');
    if (this.isEntrypoint(rs)) this.checkRuleCount(rs.phase, rs.rules.length + 1);
    const at = this.positionIndex(rs, parsePosition(b.position), rs.rules.length);
    if (dryRun) return null;
    rs.rules.splice(at, 0, rule);
    this.bump(rs, stamp);
    return structuredClone(rs);
  }

  /**
   * PATCH .../rules/{id}. Cloudflare: "You must include all the rule fields that you want to be
   * part of the new rule definition, even if you are not changing their values." So the body
   * replaces the definition (id and ref stay); a body with only `position` moves the rule.
   */
  editRule(scope: RulesetScope, rulesetId: string, ruleId: string, body: unknown, now: Date, dryRun = false): Ruleset | null {
    const rs = this.find(scope, rulesetId);
    const i = rs.rules.findIndex((r) => r.id === ruleId);
    if (i < 0) throw invalid(`could not find rule ${ruleId} in ruleset ${rulesetId}`, undefined, CODE.ruleNotFound, 404);
    const b = objectBody(body);
    const stamp = now.toISOString();
    const current = rs.rules[i]!;
    const onlyPosition = Object.keys(b).every((k) => k === 'position' || k === 'id') && b.position !== undefined;
    let rule: RulesetRule;
    if (onlyPosition) {
      rule = { ...current };
    } else {
      if (b.ref !== undefined && b.ref !== current.ref) throw invalid('the ref of an existing rule cannot be changed', '/ref');
      rule = this.buildRule({ ...b, id: ruleId, ref: current.ref }, stamp, rs.phase, '', rs.rules);
      rule.version = String(Number(current.version) + 1);
    }
    const rest = rs.rules.filter((r) => r.id !== ruleId);
    const position = parsePosition(b.position);
    if (position.kind !== 'end' && (position.kind === 'before' || position.kind === 'after') && position.id === ruleId) {
      throw invalid('a rule cannot be positioned relative to itself', '/position');
    }
    const at = position.kind === 'end' && b.position === undefined ? i : this.positionIndex({ ...rs, rules: rest }, position, rest.length);
    if (dryRun) return null;
    rest.splice(at, 0, rule);
    rs.rules = rest;
    this.bump(rs, stamp);
    return structuredClone(rs);
  }

  deleteRule(scope: RulesetScope, rulesetId: string, ruleId: string, now: Date, dryRun = false): Ruleset | null {
    const rs = this.find(scope, rulesetId);
    const i = rs.rules.findIndex((r) => r.id === ruleId);
    if (i < 0) throw invalid(`could not find rule ${ruleId} in ruleset ${rulesetId}`, undefined, CODE.ruleNotFound, 404);
    if (dryRun) return null;
    rs.rules.splice(i, 1);
    this.bump(rs, now.toISOString());
    return structuredClone(rs);
  }

  /** A person deleting a rule in the dashboard (no API call is logged): true if it existed. */
  deleteRuleByHand(ruleId: string, now: Date): boolean {
    for (const { ruleset } of this.byId.values()) {
      const i = ruleset.rules.findIndex((r) => r.id === ruleId);
      if (i < 0) continue;
      ruleset.rules.splice(i, 1);
      this.bump(ruleset, now.toISOString());
      return true;
    }
    return false;
  }

  /** The enabled and disabled rules of a custom-rules entrypoint, in order ([] when there is none). */
  customRules(scope: RulesetScope): RulesetRule[] {
    const id = this.entrypoints.get(`${scope}|${CUSTOM_PHASE}`);
    return id ? structuredClone(this.byId.get(id)!.ruleset.rules) : [];
  }

  /** Lists that an enabled `block` rule of a custom-firewall entrypoint puts in force. */
  blockingLists(): Set<string> {
    const names = new Set<string>();
    for (const scope of ['account', 'zone'] as const) {
      const id = this.entrypoints.get(`${scope}|${CUSTOM_PHASE}`);
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

  private isEntrypoint(rs: Ruleset): boolean {
    return [...this.entrypoints.values()].includes(rs.id);
  }

  private checkRuleCount(phase: string, count: number): void {
    if (phase === CUSTOM_PHASE && count > this.maxCustomRules) {
      throw invalid(`exceeded maximum number of rules in the phase ${phase}: ${count} out of ${this.maxCustomRules}`, '/rules', CODE.tooManyRules);
    }
  }

  private positionIndex(rs: Ruleset, position: Position, end: number): number {
    switch (position.kind) {
      case 'end': return end;
      case 'index':
        if (position.index > end + 1) throw invalid(`position index ${position.index} is beyond the end of the ruleset (${end} rules)`, '/position/index');
        return position.index - 1;
      case 'before':
      case 'after': {
        // "An empty value causes the rule to be placed at the top" (before) / "at the bottom" (after).
        if (position.id === '') return position.kind === 'before' ? 0 : end;
        const j = rs.rules.findIndex((r) => r.id === position.id);
        if (j < 0) throw invalid(`could not find rule ${position.id} to place the rule ${position.kind}`, `/position/${position.kind}`);
        return position.kind === 'before' ? j : j + 1;
      }
    }
  }

  private bump(rs: Ruleset, stamp: string): void {
    rs.version = String(Number(rs.version) + 1);
    rs.last_updated = stamp;
  }

  private find(scope: RulesetScope, rulesetId: string): Ruleset {
    const found = this.byId.get(rulesetId);
    if (!found || found.scope !== scope) throw invalid(`could not find ruleset ${rulesetId}`, undefined, CODE.notFound, 404);
    return found.ruleset;
  }

  private buildRule(raw: unknown, stamp: string, phase: string, pointer: string, previous: RulesetRule[] | undefined): RulesetRule {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('a rule must be a JSON object', pointer || '/');
    const r = raw as Record<string, unknown>;
    if (typeof r.expression !== 'string' || r.expression.trim() === '') throw invalid('rule expression is required', `${pointer}/expression`);
    if (typeof r.action !== 'string' || !ACTIONS.includes(r.action)) {
      throw invalid(`rule action must be one of ${ACTIONS.join(', ')}; got ${JSON.stringify(r.action ?? null)}`, `${pointer}/action`);
    }
    if (phase === CUSTOM_PHASE && !CUSTOM_RULE_ACTIONS.includes(r.action)) {
      throw invalid(`'${r.action}' is not a valid value for action because it is not allowed in phase ${phase}`, `${pointer}/action`);
    }
    const problem = expressionProblem(r.expression);
    if (problem) throw invalid(problem, `${pointer}/expression`);
    for (const name of r.expression.match(/\$[a-z0-9_]+/g) ?? []) {
      if (!this.opts.listExists(name.slice(1))) throw invalid(`filter parsing error: list ${name} does not exist`, `${pointer}/expression`);
    }
    if (r.enabled !== undefined && typeof r.enabled !== 'boolean') throw invalid('enabled must be a boolean', `${pointer}/enabled`);
    if (r.description !== undefined && typeof r.description !== 'string') throw invalid('description must be a string', `${pointer}/description`);
    if (r.ref !== undefined && (typeof r.ref !== 'string' || r.ref === '')) throw invalid('ref must be a non-empty string', `${pointer}/ref`);
    const prev = typeof r.id === 'string' ? previous?.find((p) => p.id === r.id) : undefined;
    const id = prev?.id ?? newId();
    return {
      id,
      version: prev ? String(Number(prev.version) + 1) : '1',
      action: r.action,
      expression: r.expression,
      description: typeof r.description === 'string' ? r.description : '',
      enabled: r.enabled === undefined ? true : r.enabled,
      last_updated: stamp,
      // "The reference of the rule (the rule's ID by default)."
      ref: typeof r.ref === 'string' ? r.ref : prev?.ref ?? id,
    };
  }
}

function parsePosition(raw: unknown): Position {
  if (raw === undefined) return { kind: 'end' };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('position must be an object', '/position');
  const p = raw as Record<string, unknown>;
  const keys = Object.keys(p);
  if (keys.length !== 1) throw invalid('position takes exactly one of before, after or index', '/position');
  if (p.index !== undefined) {
    if (!Number.isInteger(p.index) || (p.index as number) < 1) throw invalid('position index must be an integer of at least 1', '/position/index');
    return { kind: 'index', index: p.index as number };
  }
  for (const kind of ['before', 'after'] as const) {
    if (p[kind] !== undefined) {
      if (typeof p[kind] !== 'string') throw invalid(`position ${kind} must be a rule id`, `/position/${kind}`);
      return { kind, id: p[kind] as string };
    }
  }
  throw invalid('position takes exactly one of before, after or index', '/position');
}

function checkPhase(phase: string): void {
  if (!PHASES.includes(phase)) throw invalid(`unknown ruleset phase: ${phase}`, '/phase');
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('request body must be a JSON object');
  return body as Record<string, unknown>;
}
