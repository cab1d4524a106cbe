// List items block nothing by themselves: only a WAF custom rule `ip.src in $<list>`
// with action block makes Cloudflare refuse them. `verify`, `setup` and the list
// backend's reconciler all ask "is that rule in place?" here, the same way.
import { CloudflareCallError, type CloudflareApi } from './api.ts';
import type { CloudflareConfig } from './config.ts';

export const CUSTOM_PHASE = 'http_request_firewall_custom';

export const blockExpression = (listName: string) => `ip.src in $${listName}`;

export interface CustomRuleset {
  id: string;
  rules?: Array<{ action?: string; expression?: string; enabled?: boolean }>;
}

/** Custom rules live in a zone's entrypoint (any plan) or the account's (Enterprise). */
export const ruleScopeOf = (config: CloudflareConfig) =>
  config.zone_id ? { zone_id: config.zone_id } : { account_id: config.account_id! };

export const ruleWhere = (config: CloudflareConfig) => (config.zone_id ? `zone ${config.zone_id}` : `account ${config.account_id}`);

export function hasBlockRule(ruleset: CustomRuleset | null, listName: string): boolean {
  const expression = blockExpression(listName);
  return (ruleset?.rules ?? []).some((r) => r.enabled !== false && r.action === 'block' && (r.expression ?? '').includes(expression));
}

/** The custom-rules entrypoint, or null when the scope has none yet (404). */
export async function readCustomRules(api: CloudflareApi, config: CloudflareConfig, operation: string): Promise<CustomRuleset | null> {
  try {
    return await api.call({ operation, target: `${CUSTOM_PHASE} in ${ruleWhere(config)}` }, (o) =>
      api.client.rulesets.phases.get(CUSTOM_PHASE, ruleScopeOf(config), o),
    );
  } catch (error) {
    if (error instanceof CloudflareCallError && error.kind === 'not_found') return null;
    throw error;
  }
}

export type BlockRuleState = 'present' | 'missing' | 'unknown';

/**
 * 'missing' only when we could read the scope the rule belongs in. Without a zone id an
 * account entrypoint without the rule proves nothing (the rule is usually in a zone).
 */
export async function checkBlockRule(api: CloudflareApi, config: CloudflareConfig): Promise<{ state: BlockRuleState; detail: string }> {
  const expression = blockExpression(config.list_name);
  try {
    const ruleset = await readCustomRules(api, config, 'check_custom_rule');
    if (hasBlockRule(ruleset, config.list_name)) return { state: 'present', detail: `\`${expression}\` blocks in ${ruleWhere(config)}` };
    if (config.zone_id) return { state: 'missing', detail: `no enabled block rule \`${expression}\` in ${ruleWhere(config)}: list items block nothing; run \`edgejail cloudflare setup\`` };
    return { state: 'unknown', detail: `no block rule \`${expression}\` at account level; set CLOUDFLARE_ZONE_ID so the zone's rule can be checked` };
  } catch (error) {
    return { state: 'unknown', detail: `cannot read WAF custom rules in ${ruleWhere(config)}: ${error instanceof Error ? error.message : String(error)}` };
  }
}
