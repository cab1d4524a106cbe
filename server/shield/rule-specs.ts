// Which WAF custom rules a site's shield puts in its zone, from the `shield` config: the
// login form with `shield.action`, and XML-RPC by `shield.xmlrpc`. Pure: the enforcement
// core's placement compares this plan with what is at Cloudflare.
import type { ShieldRuleAction, ShieldRuleSpec } from '../cloudflare/shield-rules.ts';
import type { ShieldConfig } from './config.ts';

export interface ShieldSite {
  id: string;
  zoneId: string | null;
  hostname: string | null;
}

/** Why a site's shield cannot be put at Cloudflare, or null when it can. */
export function whyNoRule(site: ShieldSite): string | null {
  if (!site.zoneId) return 'the site has no Cloudflare zone (edgejail site set <id> --zone <zone id>, or CLOUDFLARE_ZONE_ID)';
  if (!site.hostname) return 'the site has no hostname yet (edgejail site set <id> --host <hostname>, or wait for the plugin’s hello)';
  return null;
}

/**
 * XML-RPC clients cannot solve a challenge, so `block` is the default; `challenge` gives XML-RPC
 * the login form's challenge (a managed challenge when the login form itself is blocked).
 */
export function shieldRuleSpecs(site: ShieldSite, config: Pick<ShieldConfig, 'action' | 'xmlrpc'>): ShieldRuleSpec[] {
  if (whyNoRule(site)) return [];
  const base = { siteId: site.id, zoneId: site.zoneId!, hostname: site.hostname! };
  const specs: ShieldRuleSpec[] = [{ ...base, part: 'login', action: config.action }];
  if (config.xmlrpc !== 'off') {
    const challenge: ShieldRuleAction = config.action === 'block' ? 'managed_challenge' : config.action;
    specs.push({ ...base, part: 'xmlrpc', action: config.xmlrpc === 'block' ? 'block' : challenge });
  }
  return specs;
}
