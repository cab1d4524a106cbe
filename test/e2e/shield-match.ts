// What the stand-in edge understands of Cloudflare's rule language: exactly the expression
// shape the login shield writes (server/cloudflare/shield-rules.ts), nothing more. Any other
// expression is not matched (and reported once), so the edge never guesses at a rule.
export interface EdgeRule {
  id: string;
  action: string;
  expression: string;
  enabled: boolean;
}

export interface ShieldMatcher {
  host: string;
  method: 'POST';
  pathContains: string;
}

export interface EdgeRequestFacts {
  host: string;
  method: string;
  path: string;
}

export type ShieldVerdict = { kind: 'challenge' | 'block'; ruleId: string; action: string } | null;

// `(http.host eq "<host>" and http.request.method eq "POST" and http.request.uri.path contains "<path>")`
const SHIELD_SHAPE = /^\(http\.host eq "([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)" and http\.request\.method eq "POST" and http\.request\.uri\.path contains "(\/[A-Za-z0-9._/-]{1,200})"\)$/;
const CHALLENGES = new Set(['managed_challenge', 'js_challenge', 'challenge']);

/** The matcher for one of our expressions, or null for any other text. */
export function parseShieldExpression(expression: string): ShieldMatcher | null {
  const m = SHIELD_SHAPE.exec(expression);
  return m ? { host: m[1]!, method: 'POST', pathContains: m[2]! } : null;
}

export function matchesShield(matcher: ShieldMatcher, req: EdgeRequestFacts): boolean {
  return req.host === matcher.host && req.method === matcher.method && req.path.includes(matcher.pathContains);
}

/**
 * The first enabled rule (in ruleset order, as Cloudflare evaluates them) that matches, as
 * a challenge or a block. `unknown` hears once about every expression it cannot evaluate.
 */
export function shieldVerdict(rules: EdgeRule[], req: EdgeRequestFacts, unknown: (rule: EdgeRule) => void = () => undefined): ShieldVerdict {
  for (const rule of rules) {
    if (!rule.enabled) continue;
    const matcher = parseShieldExpression(rule.expression);
    if (!matcher) {
      unknown(rule);
      continue;
    }
    if (!matchesShield(matcher, req)) continue;
    if (rule.action === 'block') return { kind: 'block', ruleId: rule.id, action: rule.action };
    if (CHALLENGES.has(rule.action)) return { kind: 'challenge', ruleId: rule.id, action: rule.action };
    unknown(rule);
  }
  return null;
}
