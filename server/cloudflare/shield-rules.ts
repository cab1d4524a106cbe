// The login shield's WAF custom rules in a site's zone, one rule at a time through the
// rulesets rules API. A zone's custom-rules entrypoint holds the owner's own rules too, so
// this module never PUTs the entrypoint (that replaces every rule in it): it adds, edits and
// deletes only rules whose description carries our tag, and creates the entrypoint only when
// the zone has none (POST /rulesets, which Cloudflare refuses if one appeared meanwhile).
import { CloudflareCallError, type CallContext, type CloudflareApi } from './api.ts';
import { HOSTNAME_RE } from '../shield/hostname.ts';

export type ShieldPart = 'login' | 'xmlrpc';
export type ShieldRuleAction = 'managed_challenge' | 'js_challenge' | 'challenge' | 'block';

/** What one of our rules should be: where, matching what, doing what. */
export interface ShieldRuleSpec {
  siteId: string;
  zoneId: string;
  hostname: string;
  part: ShieldPart;
  action: ShieldRuleAction;
}

export interface ShieldRule {
  id: string;
  rulesetId: string;
  action: string;
  expression: string;
  description: string;
  enabled: boolean;
}

const CUSTOM_PHASE = 'http_request_firewall_custom';
const TAG_PREFIX = 'edgejail:shield';
const TAG_RE = /^edgejail:shield site=(\S+) part=(login|xmlrpc)(?:\s|$)/;
const PATHS: Record<ShieldPart, string> = { login: '/wp-login.php', xmlrpc: '/xmlrpc.php' };
// Cloudflare's 20217: "'zone' is not a valid value for kind because exceeded maximum number of
// zone rulesets for phase ...": someone created the entrypoint between our read and our create.
const ENTRYPOINT_EXISTS = 20217;

/**
 * `contains`, not `eq`, on the path: WordPress installed in a subdirectory serves
 * /blog/wp-login.php. Only POSTs match, so visitors reading pages never see a challenge.
 */
export function shieldExpression(hostname: string, part: ShieldPart): string {
  if (!HOSTNAME_RE.test(hostname)) throw new Error(`"${hostname}" is not a hostname`);
  return `(http.host eq "${hostname}" and http.request.method eq "POST" and http.request.uri.path contains "${PATHS[part]}")`;
}

/** `edgejail:shield site=<id> part=<login|xmlrpc>`, then words for the person reading the dashboard. */
export function shieldTag(siteId: string, part: ShieldPart): string {
  const why = part === 'login' ? 'login form' : 'XML-RPC';
  return `${TAG_PREFIX} site=${siteId} part=${part} (EdgeJail login shield: ${why} under a distributed password-guessing attack)`;
}

export function parseShieldTag(description: string | null | undefined): { siteId: string; part: ShieldPart } | null {
  const m = TAG_RE.exec(description ?? '');
  return m ? { siteId: m[1]!, part: m[2] as ShieldPart } : null;
}

function ruleBody(spec: ShieldRuleSpec) {
  return { action: spec.action, expression: shieldExpression(spec.hostname, spec.part), description: shieldTag(spec.siteId, spec.part), enabled: true };
}

type RawRuleset = { id: string; rules?: Array<{ id?: string; action?: string; expression?: string; description?: string; enabled?: boolean }> };

function toRules(ruleset: RawRuleset): ShieldRule[] {
  return (ruleset.rules ?? []).map((r) => ({
    id: r.id ?? '', rulesetId: ruleset.id, action: r.action ?? '', expression: r.expression ?? '', description: r.description ?? '', enabled: r.enabled !== false,
  }));
}

export function createShieldRulesApi(api: CloudflareApi) {
  const rulesets = api.client.rulesets;

  async function readEntrypoint(zoneId: string, context: Omit<CallContext, 'operation'>): Promise<RawRuleset | null> {
    try {
      return (await api.call({ ...context, operation: 'shield_read_rules', target: `${CUSTOM_PHASE} in zone ${zoneId}` }, (o) =>
        rulesets.phases.get(CUSTOM_PHASE, { zone_id: zoneId }, o),
      )) as RawRuleset;
    } catch (error) {
      if (error instanceof CloudflareCallError && error.kind === 'not_found') return null;
      throw error;
    }
  }

  const ours = (rules: ShieldRule[], siteId: string, part?: ShieldPart) =>
    rules.filter((r) => { const tag = parseShieldTag(r.description); return tag !== null && tag.siteId === siteId && (!part || tag.part === part); });

  const created = (ruleset: RawRuleset, spec: ShieldRuleSpec): ShieldRule => {
    const rule = ours(toRules(ruleset), spec.siteId, spec.part).at(-1);
    if (!rule) throw new CloudflareCallError('envelope', `Cloudflare's answer does not contain the ${spec.part} shield rule it was asked to add`);
    return rule;
  };

  return {
    /** Our rules for a site (or one part of it) in its zone; [] when the zone has no entrypoint. */
    async findOurs(zoneId: string, siteId: string, part?: ShieldPart, context: Omit<CallContext, 'operation'> = {}): Promise<ShieldRule[]> {
      const ruleset = await readEntrypoint(zoneId, context);
      return ruleset ? ours(toRules(ruleset), siteId, part) : [];
    },

    /** Every rule of ours in the zone, of any site (the reconciler's full read); untagged rules are never returned. */
    async listOurs(zoneId: string, context: Omit<CallContext, 'operation'> = {}): Promise<Array<ShieldRule & { siteId: string; part: ShieldPart }>> {
      const ruleset = await readEntrypoint(zoneId, context);
      if (!ruleset) return [];
      return toRules(ruleset).flatMap((r) => {
        const tag = parseShieldTag(r.description);
        return tag ? [{ ...r, ...tag }] : [];
      });
    },

    /**
     * Puts the rule in place and returns it. Idempotent: when a rule with our tag for this site
     * and part is already there (a retry after a lost answer), it is edited, not duplicated.
     */
    async add(spec: ShieldRuleSpec, context: Omit<CallContext, 'operation'> = {}): Promise<ShieldRule> {
      const where = `zone ${spec.zoneId}`;
      let ruleset = await readEntrypoint(spec.zoneId, context);
      if (!ruleset) {
        try {
          const made = (await api.call({ ...context, operation: 'shield_create_entrypoint', target: `${CUSTOM_PHASE} in ${where}` }, (o) =>
            rulesets.create({ zone_id: spec.zoneId, name: 'default', kind: 'zone', phase: CUSTOM_PHASE, rules: [ruleBody(spec)] } as never, o),
          )) as RawRuleset;
          return created(made, spec);
        } catch (error) {
          if (!(error instanceof CloudflareCallError && error.hasCode(ENTRYPOINT_EXISTS))) throw error;
          ruleset = await readEntrypoint(spec.zoneId, context);
          if (!ruleset) throw error;
        }
      }
      const [existing, ...extra] = ours(toRules(ruleset), spec.siteId, spec.part);
      if (existing) {
        // Two of ours for one part (two processes raced): one is enough, and both are ours to remove.
        for (const rule of extra) await this.delete(spec.zoneId, rule, context);
        return this.edit(spec, existing, context);
      }
      const after = (await api.call({ ...context, operation: 'shield_add_rule', target: `ruleset ${ruleset.id} in ${where}` }, (o) =>
        rulesets.rules.create(ruleset!.id, { zone_id: spec.zoneId, ...ruleBody(spec) }, o),
      )) as RawRuleset;
      return created(after, spec);
    },

    /** Rewrites one of our rules to the spec (the whole definition, as PATCH requires). */
    async edit(spec: ShieldRuleSpec, rule: Pick<ShieldRule, 'id' | 'rulesetId'>, context: Omit<CallContext, 'operation'> = {}): Promise<ShieldRule> {
      const after = (await api.call({ ...context, operation: 'shield_edit_rule', target: `rule ${rule.id} in zone ${spec.zoneId}` }, (o) =>
        rulesets.rules.edit(rule.id, { zone_id: spec.zoneId, ruleset_id: rule.rulesetId, ...ruleBody(spec) }, o),
      )) as RawRuleset;
      const edited = toRules(after).find((r) => r.id === rule.id);
      if (!edited) throw new CloudflareCallError('envelope', `Cloudflare's answer does not contain rule ${rule.id}`);
      return edited;
    },

    /** 'gone' for a 404: the rule (or its ruleset) is not there, which is what we wanted. */
    async delete(zoneId: string, rule: Pick<ShieldRule, 'id' | 'rulesetId'>, context: Omit<CallContext, 'operation'> = {}): Promise<'deleted' | 'gone'> {
      try {
        await api.call({ ...context, operation: 'shield_delete_rule', target: `rule ${rule.id} in zone ${zoneId}` }, (o) =>
          rulesets.rules.delete(rule.id, { zone_id: zoneId, ruleset_id: rule.rulesetId }, o),
        );
        return 'deleted';
      } catch (error) {
        if (error instanceof CloudflareCallError && error.kind === 'not_found') return 'gone';
        throw error;
      }
    },
  };
}

export type ShieldRulesApi = ReturnType<typeof createShieldRulesApi>;
