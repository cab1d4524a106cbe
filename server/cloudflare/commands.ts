// `edgejail cloudflare setup|verify|reconcile|actions <ip>`: the checks and one-time
// setup a person runs by hand. Every call goes through the same limiter and action log
// as the enforcer, and the token is never printed.
import { createEnforcementStore, enforcementStateOf, type CloudflareActionRow } from '../store/enforcement.ts';
import type { Db } from '../store/db.ts';
import { createCloudflareApi, CloudflareCallError, type CloudflareApi } from './api.ts';
import { describeCloudflareConfig, isDryRun, type CloudflareConfig } from './config.ts';
import { createEnforcer } from '../enforcement/worker.ts';
import { createListApi } from './list-api.ts';
import { ipKeyOf, normaliseIp, parseCidr } from '../jail/ip.ts';
import { driftCount, type Logger } from '../enforcement/types.ts';
import { isIP } from 'node:net';
import { createShieldStore } from '../store/shields.ts';
import type { ShieldConfig } from '../shield/config.ts';
import { blockExpression, CUSTOM_PHASE, hasBlockRule, readCustomRules, ruleScopeOf, ruleWhere, type CustomRuleset } from './block-rule.ts';

export interface CommandContext {
  db: Db;
  config: CloudflareConfig;
  out: (line: string) => void;
  /** The `shield` section's rule settings, for `reconcile` (the service's defaults without it). */
  shield?: Pick<ShieldConfig, 'action' | 'xmlrpc'>;
}

const USAGE = 'usage: edgejail cloudflare setup|verify|reconcile|actions <ip>';
// Exit codes: 0 done, 1 failed, 2 done except a step the user must take in the dashboard.
const EXIT_OK = 0;
const EXIT_FAIL = 1;
const EXIT_MANUAL = 2;

export async function runCloudflareCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'setup':
      return withApi(ctx, (api) => setup(api, ctx));
    case 'verify':
      return withApi(ctx, (api) => verify(api, ctx));
    case 'reconcile':
      return reconcileNow(ctx);
    case 'actions':
      return showActions(rest[0], ctx);
    default:
      ctx.out(command ? `unknown cloudflare command "${command}"\n${USAGE}` : USAGE);
      return EXIT_FAIL;
  }
}

async function withApi(ctx: CommandContext, fn: (api: CloudflareApi) => Promise<number>): Promise<number> {
  if (isDryRun(ctx.config)) {
    ctx.out('CLOUDFLARE_API_TOKEN is not set: EdgeJail runs in dry-run and makes no Cloudflare call.');
    ctx.out('Create a token (My Profile > API Tokens) with the permissions `edgejail cloudflare verify` lists, then set it.');
    return EXIT_FAIL;
  }
  const stop = new AbortController();
  const api = createCloudflareApi({ config: ctx.config, store: createEnforcementStore(ctx.db), now: Date.now, stopSignal: stop.signal });
  try {
    return await fn(api);
  } finally {
    stop.abort();
  }
}

function explain(error: unknown): string {
  if (error instanceof CloudflareCallError) {
    return `${error.status ? `HTTP ${error.status}` : error.kind}${error.codes.length ? ` (Cloudflare code ${error.codes.join(', ')})` : ''}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

const denied = (error: unknown) => error instanceof CloudflareCallError && (error.status === 403 || error.status === 401);

/** The permission each backend needs, in the words of Cloudflare's token editor. */
function neededPermissions(config: CloudflareConfig): string[] {
  if (config.backend === 'list') {
    return [
      'Account > Account Filter Lists > Edit',
      ...(config.zone_id ? ['Zone > Zone WAF > Edit (only for `setup` to create the custom rule)'] : []),
    ];
  }
  return config.scope === 'account'
    ? ['Account > Account Firewall Access Rules > Edit']
    : ['Zone > Firewall Services > Edit'];
}

async function verify(api: CloudflareApi, ctx: CommandContext): Promise<number> {
  const { config, out } = ctx;
  const shown = describeCloudflareConfig(config);
  out(`backend ${shown.backend}, scope ${config.backend === 'list' ? `account ${config.account_id}` : `${config.scope} ${config.scope === 'account' ? config.account_id : config.zone_id}`}${config.base_url ? `, API ${config.base_url}` : ''}`);
  let ok = true;

  try {
    const token = await api.call({ operation: 'verify_token', target: 'user/tokens/verify' }, (o) => api.client.user.tokens.verify(o));
    out(`ok   token is ${token.status}${token.expires_on ? `, expires ${token.expires_on}` : ''}`);
    if (token.status !== 'active') ok = false;
  } catch (error) {
    // Account-owned tokens are verified under the account instead.
    let verified = false;
    if (config.account_id && error instanceof CloudflareCallError && (error.status === 401 || error.status === 403)) {
      try {
        const token = await api.call({ operation: 'verify_token', target: `accounts/${config.account_id}/tokens/verify` }, (o) =>
          api.client.accounts.tokens.verify({ account_id: config.account_id! }, o),
        );
        out(`ok   account token is ${token.status}`);
        verified = token.status === 'active';
      } catch {
        verified = false;
      }
    }
    if (!verified) {
      out(`FAIL token: ${explain(error)} — the token is wrong, expired or revoked`);
      return EXIT_FAIL;
    }
  }

  const permissions = neededPermissions(config);
  if (config.backend === 'access_rules') {
    const scope = config.scope === 'account' ? { account_id: config.account_id! } : { zone_id: config.zone_id! };
    try {
      await api.call({ operation: 'verify_access', target: `access rules in ${config.scope}` }, (o) =>
        api.client.firewall.accessRules.list({ ...scope, per_page: 5 }, o),
      );
      out(`ok   can read IP Access Rules (${config.scope} scope); creating them needs: ${permissions.join('; ')}`);
    } catch (error) {
      ok = false;
      out(`FAIL IP Access Rules (${config.scope} scope): ${explain(error)}`);
      if (denied(error)) out(`     missing permission: ${permissions[0]}`);
    }
  } else {
    const lists = createListApi(api, config, new AbortController().signal);
    try {
      const list = await lists.findList();
      out(list ? `ok   list ${config.list_name} exists (${list.num_items} items)` : `warn list ${config.list_name} does not exist yet: run \`edgejail cloudflare setup\``);
    } catch (error) {
      ok = false;
      out(`FAIL account IP lists: ${explain(error)}`);
      if (denied(error)) out(`     missing permission: ${permissions[0]}`);
    }
    try {
      const ruleset = await readCustomRules(api, config, 'verify_custom_rule');
      if (!ruleset) out(`warn no custom firewall rules yet: run \`edgejail cloudflare setup\``);
      else if (hasBlockRule(ruleset, config.list_name)) out(`ok   WAF custom rule \`${blockExpression(config.list_name)}\` is in place`);
      else out(`warn no enabled block rule \`${blockExpression(config.list_name)}\`: run \`edgejail cloudflare setup\``);
    } catch (error) {
      out(`warn cannot read WAF custom rules: ${explain(error)}${denied(error) ? ' (Zone WAF > Read/Edit is needed only to check or create it)' : ''}`);
    }
  }
  if (!(await verifyShieldZones(api, ctx))) ok = false;
  return ok ? EXIT_OK : EXIT_FAIL;
}

/**
 * The login shield adds and removes its WAF custom rule in each site's zone, so every zone in
 * use (a site's own, or CLOUDFLARE_ZONE_ID) must let the token at its custom rules. Reading the
 * rules is the check a token can take without changing anything; a refusal names the zone.
 */
async function verifyShieldZones(api: CloudflareApi, ctx: CommandContext): Promise<boolean> {
  const { config, out, db } = ctx;
  const zones = new Map<string, string[]>();
  for (const site of createShieldStore(db).siteZones()) {
    const zone = site.zone_id ?? config.zone_id;
    if (zone) zones.set(zone, [...(zones.get(zone) ?? []), site.name]);
  }
  if (!zones.size && config.zone_id) zones.set(config.zone_id, []);
  if (!zones.size) {
    out('warn login shield: no site has a Cloudflare zone (CLOUDFLARE_ZONE_ID or `edgejail site set <id> --zone`), so no shield can be placed');
    return true;
  }
  let ok = true;
  for (const [zone, sites] of zones) {
    const whose = sites.length ? ` (sites ${sites.join(', ')})` : '';
    try {
      await api.call({ operation: 'verify_shield_zone', target: `${CUSTOM_PHASE} in zone ${zone}` }, (o) =>
        api.client.rulesets.phases.get(CUSTOM_PHASE, { zone_id: zone }, o),
      );
      out(`ok   login shield: can read WAF custom rules in zone ${zone}${whose}; raising a shield needs Zone > Zone WAF > Edit there`);
    } catch (error) {
      if (error instanceof CloudflareCallError && error.kind === 'not_found') {
        out(`ok   login shield: zone ${zone}${whose} has no custom rules yet; the first shield creates them (needs Zone > Zone WAF > Edit)`);
        continue;
      }
      ok = false;
      out(`FAIL login shield in zone ${zone}${whose}: ${explain(error)}`);
      if (denied(error)) out(`     missing permission: Zone > Zone WAF > Edit for zone ${zone}`);
    }
  }
  return ok;
}

async function setup(api: CloudflareApi, ctx: CommandContext): Promise<number> {
  const { config, out } = ctx;
  if (config.backend === 'access_rules') {
    out('The access_rules backend needs nothing set up: rules are created per ban. Checking access instead.');
    return verify(api, ctx);
  }
  const lists = createListApi(api, config, new AbortController().signal);
  try {
    const found = await lists.findList();
    if (found) out(`ok   list ${config.list_name} exists (${found.num_items} items)`);
    else {
      await lists.createList();
      out(`ok   created list ${config.list_name}`);
    }
  } catch (error) {
    out(`FAIL list ${config.list_name}: ${explain(error)}`);
    if (denied(error)) out(`     missing permission: Account > Account Filter Lists > Edit`);
    return EXIT_FAIL;
  }

  const expression = blockExpression(config.list_name);
  const rule = { action: 'block' as const, expression, description: 'EdgeJail: block IPs banned for brute force', enabled: true };
  const ruleScope = ruleScopeOf(config);
  const where = ruleWhere(config);
  const manual = (why: string) => {
    out(`todo ${why}`);
    out(`     Add it by hand: Security > WAF > Custom rules > Create rule, "Edit expression", paste`);
    out(`         ${expression}`);
    out(`     and choose the action Block. (API: PUT .../rulesets/phases/${CUSTOM_PHASE}/entrypoint with that rule.)`);
    return EXIT_MANUAL;
  };
  try {
    const ruleset: CustomRuleset | null = await readCustomRules(api, config, 'setup_read_custom_rules');
    if (hasBlockRule(ruleset, config.list_name)) {
      out(`ok   WAF custom rule \`${expression}\` already in ${where}`);
      return EXIT_OK;
    }
    if (ruleset) {
      await api.call({ operation: 'setup_add_custom_rule', target: `ruleset ${ruleset.id} in ${where}` }, (o) =>
        api.client.rulesets.rules.create(ruleset!.id, { ...ruleScope, ...rule }, o),
      );
    } else {
      await api.call({ operation: 'setup_create_custom_rules', target: `${CUSTOM_PHASE} in ${where}` }, (o) =>
        api.client.rulesets.phases.update(CUSTOM_PHASE, { ...ruleScope, rules: [rule] }, o),
      );
    }
    out(`ok   created WAF custom rule \`${expression}\` (block) in ${where}`);
    return EXIT_OK;
  } catch (error) {
    const why = denied(error)
      ? `the token may not edit WAF custom rules in ${where} (needs Zone > Zone WAF > Edit)`
      : `could not create the WAF custom rule in ${where}: ${explain(error)}`;
    return manual(why);
  }
}

async function reconcileNow(ctx: CommandContext): Promise<number> {
  const { config, out, db } = ctx;
  if (isDryRun(config)) {
    out('dry-run (no CLOUDFLARE_API_TOKEN): nothing at Cloudflare to reconcile.');
    return EXIT_OK;
  }
  const logger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  const enforcer = createEnforcer({ db, config, logger, ...(ctx.shield ? { shield: ctx.shield } : {}) });
  const report = await enforcer.reconcile();
  out(`seen ${report.seen} tagged ${config.backend === 'list' ? 'items' : 'rules'} in ${report.durationMs} ms`);
  out(`removed ${report.orphansRemoved} whose ban had ended; queued ${report.missingReapplied} missing for re-apply; repaired ${report.idsRepaired} stored ids; ${report.foreignGone} foreign rules gone`);
  if (report.blockRule) out(`${report.blockRule.state === 'present' ? 'ok  ' : 'warn'} WAF block rule ${report.blockRule.state}: ${report.blockRule.detail}`);
  if (report.shield) {
    const sh = report.shield;
    out(`login shield: ${sh.seen} rules of ours in ${sh.zones} zones; removed ${sh.orphansRemoved} left behind; queued ${sh.missingReapplied} missing and ${sh.outdatedQueued} out of date; repaired ${sh.idsRepaired} stored ids`);
  }
  if (report.skippedBusy) out(`skipped ${report.skippedBusy} ip_keys the service is working on`);
  if (driftCount(report) && report.missingReapplied) out('the running service applies queued bans within seconds');
  for (const error of report.errors.slice(0, 20)) out(`error ${error}`);
  return report.errors.length ? EXIT_FAIL : EXIT_OK;
}

/** The ip_keys an address may have been banned under (bare, or its IPv6 prefixes). */
function candidateKeys(input: string): string[] {
  if (input.includes('/')) {
    const cidr = parseCidr(input);
    return cidr ? [`${cidr.network}/${cidr.prefix}`] : [];
  }
  const ip = normaliseIp(input);
  if (!ip) return [];
  return isIP(ip) === 4 ? [ip] : [128, 64, 48, 32].map((prefix) => ipKeyOf(ip, prefix));
}

function showActions(input: string | undefined, ctx: CommandContext): number {
  const { out, db } = ctx;
  if (!input) {
    out(`usage: edgejail cloudflare actions <ip or ip_key>`);
    return EXIT_FAIL;
  }
  const keys = candidateKeys(input.trim());
  if (!keys.length) {
    out(`"${input}" is not an IP address or ip_key`);
    return EXIT_FAIL;
  }
  const store = createEnforcementStore(db);
  let shown = 0;
  for (const ipKey of keys) {
    const actions = store.actionsForIpKey(ipKey, 500);
    const row = store.enforcementOf(ipKey);
    if (!actions.length && !row) continue;
    shown++;
    out(`# ${ipKey}: ${enforcementStateOf(db, ipKey) ?? 'not blocked'}${row?.cloudflare_id ? ` (id ${row.cloudflare_id})` : ''}${row?.foreign_rule_id ? ` (covered by foreign rule ${row.foreign_rule_id})` : ''}`);
    for (const a of [...actions].reverse()) out(formatAction(a));
  }
  if (!shown) out(`no Cloudflare activity recorded for ${input}`);
  return EXIT_OK;
}

function formatAction(a: CloudflareActionRow): string {
  const codes = a.cf_error_codes ? ` codes ${(JSON.parse(a.cf_error_codes) as number[]).join(',')}` : '';
  const status = a.http_status === null ? '' : ` HTTP ${a.http_status}`;
  return `${a.at}  ${a.operation.padEnd(20)} ${a.outcome.padEnd(7)}${status}${codes}${a.duration_ms !== null ? ` ${a.duration_ms}ms` : ''}  ${a.target ?? ''}${a.error ? `  ${a.error}` : ''}`;
}
