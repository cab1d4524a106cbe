// The IP Access Rules calls EdgeJail makes, each one HTTP request through the limiter
// and the action log. Reads walk every page: a lost rule id is found, never guessed.
import type { CloudflareApi, CallContext } from './api.ts';
import { ipKeyFromTag, tagSearchText } from './tag.ts';
import { sameIpValue, type CloudflareTarget } from './target.ts';

export type AccessRuleMode = 'block' | 'challenge' | 'whitelist' | 'js_challenge' | 'managed_challenge';

export interface AccessRule {
  id: string;
  target: string;
  value: string;
  mode: string;
  notes: string;
}

export type ScopeParams = { account_id: string; zone_id?: undefined } | { zone_id: string; account_id?: undefined };

export function scopeLabel(scope: ScopeParams): string {
  return scope.account_id ? `account:${scope.account_id}` : `zone:${scope.zone_id}`;
}

export function scopeFromLabel(label: string | null): ScopeParams | null {
  const match = /^(account|zone):(.+)$/.exec(label ?? '');
  if (!match) return null;
  return match[1] === 'account' ? { account_id: match[2]! } : { zone_id: match[2]! };
}

// Never walk further than this many pages: 50,000 rules at 500 a page is 100.
const MAX_PAGES = 1_000;

function toRule(raw: { id: string; configuration?: unknown; mode?: string; notes?: string }): AccessRule {
  const configuration = (raw.configuration ?? {}) as { target?: string; value?: string };
  return { id: raw.id, target: configuration.target ?? '', value: configuration.value ?? '', mode: raw.mode ?? '', notes: raw.notes ?? '' };
}

export function createAccessRulesApi(api: CloudflareApi, pageSize: number) {
  const rules = api.client.firewall.accessRules;

  async function listAll(scope: ScopeParams, filter: { notes?: string; value?: string }, context: CallContext): Promise<AccessRule[]> {
    const found: AccessRule[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const result = await api.call({ ...context, target: `${context.target ?? ''} page ${page}`.trim() }, (options) =>
        rules.list(
          {
            ...scope,
            ...(filter.notes ? { notes: filter.notes } : {}),
            ...(filter.value ? { configuration: { value: filter.value } } : {}),
            match: 'all',
            page,
            per_page: pageSize,
          },
          options,
        ),
      );
      const items = result.result ?? [];
      found.push(...items.map(toRule));
      // The SDK types only page/per_page; Cloudflare also sends total_pages.
      const totalPages = (result.result_info as { total_pages?: unknown } | undefined)?.total_pages;
      if (items.length === 0) break;
      // Without total_pages, only an empty page proves the end: the server may cap per_page.
      if (typeof totalPages === 'number' && page >= totalPages) break;
    }
    return found;
  }

  return {
    async create(scope: ScopeParams, target: CloudflareTarget, mode: AccessRuleMode, notes: string, context: Omit<CallContext, 'operation'>): Promise<AccessRule> {
      const created = await api.call({ ...context, operation: 'create_rule' }, (options) =>
        rules.create(
          {
            ...scope,
            // ip6 is a valid target in the API; the SDK's union spells it IPV6Configuration.
            configuration: { target: target.target, value: target.value } as { target: 'ip'; value: string },
            mode,
            notes,
          },
          options,
        ),
      );
      return toRule(created);
    },

    /** Resolves 'gone' for a 404: the rule is not there, which is what we wanted. */
    async delete(scope: ScopeParams, ruleId: string, context: Omit<CallContext, 'operation'>): Promise<'deleted' | 'gone'> {
      try {
        await api.call({ ...context, operation: 'delete_rule', target: `rule ${ruleId} in ${scopeLabel(scope)}` }, (options) =>
          rules.delete(ruleId, scope, options),
        );
        return 'deleted';
      } catch (error) {
        if ((error as { kind?: string }).kind === 'not_found') return 'gone';
        throw error;
      }
    },

    /** PATCH may change only mode and notes; the configuration is sent as the API requires it. */
    async update(scope: ScopeParams, ruleId: string, target: CloudflareTarget, mode: AccessRuleMode, notes: string, context: Omit<CallContext, 'operation'>): Promise<void> {
      await api.call({ ...context, operation: 'update_rule', target: `rule ${ruleId} in ${scopeLabel(scope)}` }, (options) =>
        rules.edit(
          ruleId,
          { ...scope, configuration: { target: target.target, value: target.value } as { target: 'ip'; value: string }, mode, notes },
          options,
        ),
      );
    },

    /** Our rules for one ip_key: searched by tag, confirmed by exact tag and value. */
    async findOurs(scope: ScopeParams, ipKey: string, target: CloudflareTarget | null, context: Omit<CallContext, 'operation'>): Promise<AccessRule[]> {
      const found = await listAll(scope, { notes: tagSearchText(ipKey) }, { ...context, operation: 'find_rule', target: `tag ${tagSearchText(ipKey)} in ${scopeLabel(scope)}` });
      return found.filter((rule) => ipKeyFromTag(rule.notes) === ipKey && (!target || sameIpValue(rule.value, target.value)));
    },

    /**
     * Any rule for this exact value, ours or not: who owns the duplicate Cloudflare refused.
     * Cloudflare documents the value filter for IPv4 and IPv4 ranges only, so when it finds
     * nothing every rule of the scope is read (rare: only after a refused duplicate).
     */
    async findByValue(scope: ScopeParams, target: CloudflareTarget, context: Omit<CallContext, 'operation'>): Promise<AccessRule[]> {
      const describe = `${target.target} ${target.value} in ${scopeLabel(scope)}`;
      const filtered = (await listAll(scope, { value: target.value }, { ...context, operation: 'find_rule', target: describe }))
        .filter((rule) => sameIpValue(rule.value, target.value));
      if (filtered.length) return filtered;
      return (await listAll(scope, {}, { ...context, operation: 'find_rule_scan', target: describe }))
        .filter((rule) => sameIpValue(rule.value, target.value));
    },

    /** Every rule carrying our tag in this scope. */
    async listTagged(scope: ScopeParams): Promise<AccessRule[]> {
      const found = await listAll(scope, { notes: tagSearchText() }, { operation: 'list_rules', target: `tag ${tagSearchText()} in ${scopeLabel(scope)}` });
      return found.filter((rule) => ipKeyFromTag(rule.notes) !== null);
    },
  };
}

export type AccessRulesApi = ReturnType<typeof createAccessRulesApi>;
