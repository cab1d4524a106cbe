// `edgejail <command>`: the admin API's twin for a shell. Commands work on the same
// database as the service (SQLite WAL lets both run at once) and honour the same
// EDGEJAIL_* environment; a running service picks their changes up within a second.
import { randomBytes, randomUUID } from 'node:crypto';
import { ConfigError, databasePath, loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { parseDurationSeconds, formatDuration } from './config/duration.ts';
import { migrate, openDatabase } from './store/db.ts';
import { createCore, type Core } from './core.ts';
import { purgeOldEvents } from './retention.ts';
import { ALLOWLIST_USAGE, runAllowlistCommand } from './cli-allowlist.ts';
import { runCloudflareCommand } from './cloudflare/commands.ts';
import { enforcementStateOf, cloudflareActionsFor, placementOf } from './store/enforcement.ts';
import { applySiteZone, shieldCommand, siteSetCommand, siteZoneFromFlags } from './shield/commands.ts';
import { runImportCommand } from './fail2ban/import.ts';
import { runTailCommand } from './logtail/command.ts';

const USAGE = `usage: edgejail <command>

  serve                               run the service (same as npm start)
  migrate                             create or upgrade the database
  site add <name> [--zone <zone id>] [--host <hostname>] [--json]
                                      create a site; prints its id and secret once
  site set <id> [--zone <zone id>] [--host <hostname>]   its Cloudflare zone and hostname
  site list [--json]                  list sites (never their secrets)
  site rotate-secret <id> [--json]    give a site a new secret; prints it once
  site remove <id>                    delete a site and its events
  ban <ip> [--for <duration>] [--reason <text>]
  unban <ip>
  bans [--all] [--json]               active bans (or every ban with --all)
  history <ip> [--json]               events, bans, audit and Cloudflare calls for an IP
${ALLOWLIST_USAGE}
  status [--json]
  purge [--older-than <duration>]     delete events past retention (default: config retention.events)
  cloudflare setup|verify|reconcile|actions <ip>
  shield up <site> [--for <duration>] [--reason <text>]   raise a site's login shield
  shield down <site>
  shield status [--json]
  import fail2ban [/var/lib/fail2ban/fail2ban.sqlite3] [--jails a,b] [--dry-run]
                                      fail2ban's bans: running ones enforced, ended ones as history
  tail --site <id> [--format nginx|apache|wp-fail2ban|auto] [--from-start] FILE…
                                      read web-server / WP fail2ban logs as the plugin's events

Environment: EDGEJAIL_CONFIG, EDGEJAIL_DATA_DIR, EDGEJAIL_HOST, EDGEJAIL_PORT, EDGEJAIL_ADMIN_TOKEN,
CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_ZONE_ID, EDGEJAIL_CF_BACKEND.`;

class UsageError extends Error {}

interface Args {
  positional: string[];
  flags: Map<string, string | true>;
}

const BOOLEAN_FLAGS = new Set(['json', 'all', 'help', 'force', 'dry-run', 'from-start']);

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
      if (inline !== undefined) flags.set(name, inline);
      else if (BOOLEAN_FLAGS.has(name)) flags.set(name, true);
      else {
        const value = argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, value);
      }
    } else positional.push(arg);
  }
  return { positional, flags };
}

const stringFlag = (args: Args, name: string): string | undefined => {
  const value = args.flags.get(name);
  return typeof value === 'string' ? value : undefined;
};
const print = (line = ''): void => void process.stdout.write(`${line}\n`);
const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

function needIp(value: string | undefined, core: Core): { ip: string; ipKey: string; protectedBy: string | null } {
  const verdict = value ? core.judgeAddress(value) : null;
  if (!verdict) throw new UsageError(`"${value ?? ''}" is not an IP address`);
  return verdict;
}

function table(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (!rows.length) {
    print('(none)');
    return;
  }
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  print(columns.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const row of rows) print(columns.map((c, i) => String(row[c] ?? '').padEnd(widths[i]!)).join('  '));
}

async function withCore<T>(config: Config, fn: (core: Core) => T | Promise<T>): Promise<T> {
  const db = openDatabase(databasePath(config));
  try {
    return await fn(createCore(config, db));
  } finally {
    db.close();
  }
}

async function siteCommand(config: Config, args: Args): Promise<number> {
  const [, sub, arg] = args.positional;
  const json = args.flags.has('json');
  return withCore(config, (core) => {
    const at = new Date().toISOString();
    switch (sub) {
      case 'add': {
        if (!arg) throw new UsageError('site add needs a name');
        const zone = siteZoneFromFlags(args.flags);
        if (typeof zone === 'string') return fail(zone);
        const site = { id: randomUUID(), name: arg, secret: randomBytes(32).toString('hex'), created_at: at };
        core.store.transaction(() => {
          core.store.insertSite(site);
          core.store.audit({ at, actor: 'admin:cli', action: 'site_add', site_id: site.id, detail: { name: arg } });
          applySiteZone(core, site.id, zone, 'admin:cli');
        });
        if (json) print(JSON.stringify({ id: site.id, secret: site.secret }));
        else {
          print(`site:   ${site.name}\nid:     ${site.id}\nsecret: ${site.secret}`);
          print('\nThe secret is shown only now. Put both in wp-config.php:');
          print(`  define( 'EDGEJAIL_SITE_ID', '${site.id}' );\n  define( 'EDGEJAIL_SECRET', '<the secret above>' );`);
        }
        return 0;
      }
      case 'list': {
        const sites = core.store.listSites();
        if (json) printJson(sites.map(core.shield.withZone));
        else table(sites.map(core.shield.withZone), ['id', 'name', 'zone_id', 'hostname', 'site_url', 'plugin_version', 'last_event_at']);
        return 0;
      }
      case 'rotate-secret': {
        if (!arg) throw new UsageError('site rotate-secret needs a site id');
        const secret = randomBytes(32).toString('hex');
        const ok = core.store.transaction(() => {
          const changed = core.store.rotateSecret(arg, secret, at);
          if (changed) core.store.audit({ at, actor: 'admin:cli', action: 'site_rotate_secret', site_id: arg });
          return changed;
        });
        if (!ok) return fail(`no site with id ${arg}`);
        if (json) print(JSON.stringify({ id: arg, secret }));
        else print(`new secret for ${arg}: ${secret}\n(the old one stops working now)`);
        return 0;
      }
      case 'remove': {
        if (!arg) throw new UsageError('site remove needs a site id');
        const ok = core.store.transaction(() => {
          const removed = core.store.removeSite(arg);
          if (removed) core.store.audit({ at, actor: 'admin:cli', action: 'site_remove', site_id: arg });
          return removed;
        });
        if (!ok) return fail(`no site with id ${arg}`);
        print(`removed site ${arg} and its events`);
        return 0;
      }
      case 'set':
        return siteSetCommand(core, arg, args.flags, { print, fail });
      default:
        throw new UsageError('site add|set|list|rotate-secret|remove');
    }
  });
}

function fail(message: string): number {
  process.stderr.write(`edgejail: ${message}\n`);
  return 1;
}

export async function runCli(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`);
  }
  const command = args.positional[0];
  if (!command || args.flags.has('help') || command === 'help') {
    print(USAGE);
    return command ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  const json = args.flags.has('json');
  try {
    switch (command) {
      case 'serve': {
        const { serve } = await import('./main.ts');
        await serve();
        return await new Promise<number>(() => {}); // runs until a signal exits the process
      }
      case 'migrate': {
        const db = openDatabase(databasePath(config), { migrate: false });
        const applied = migrate(db);
        db.close();
        print(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
        return 0;
      }
      case 'site':
        return await siteCommand(config, args);
      case 'tail':
        return await withCore(config, (core) => runTailCommand(core, args.positional.slice(1), args.flags, { print, fail }));
      case 'import':
        return await withCore(config, (core) => runImportCommand(core, args.positional.slice(1), args.flags, { print, fail }));
      case 'shield':
        return await withCore(config, (core) => shieldCommand(core, args.positional.slice(1), args.flags, { print, fail }));
      case 'ban':
        return await withCore(config, (core) => {
          const { ip, ipKey, protectedBy } = needIp(args.positional[1], core);
          if (protectedBy) return fail(`${ip} is protected (${protectedBy}); EdgeJail never bans it`);
          const forText = args.flags.get('for');
          const duration = typeof forText === 'string' ? parseDurationSeconds(forText) : 3600;
          if (!duration) throw new UsageError(`--for "${String(forText)}" is not a duration (e.g. 90s, 10m, 1h, 7d)`);
          const reason = typeof args.flags.get('reason') === 'string' ? (args.flags.get('reason') as string) : 'manual ban';
          const { ban, extended } = core.bans.manualBan({ ipKey, durationSeconds: duration, reason, actor: 'admin:cli' });
          print(`${extended ? 'extended' : 'banned'} ${ipKey} until ${ban.expires_at} (${formatDuration(duration)}, ban #${ban.id})`);
          return 0;
        });
      case 'unban':
        return await withCore(config, (core) => {
          const { ipKey } = needIp(args.positional[1], core);
          const lifted = core.bans.unban(ipKey, 'admin:cli');
          if (!lifted.length) return fail(`${ipKey} has no active ban`);
          print(`unbanned ${ipKey} (${lifted.length} ban${lifted.length > 1 ? 's' : ''} lifted)`);
          return 0;
        });
      case 'bans':
        return await withCore(config, (core) => {
          const rows = (args.flags.has('all') ? core.store.recentBans(1000) : core.store.activeBans()).map((b) => ({
            ...b,
            cloudflare: enforcementStateOf(core.db, b.ip_key, config.cloudflare),
            placement: b.state === 'active' ? placementOf(core.db, b.ip_key) : null,
          }));
          if (json) printJson(rows);
          else table(rows, ['id', 'ip_key', 'jail', 'state', 'expires_at', 'cloudflare', 'placement', 'reason']);
          return 0;
        });
      case 'history':
        return await withCore(config, (core) => {
          const { ipKey } = needIp(args.positional[1], core);
          const history = {
            ip_key: ipKey,
            events: core.store.eventsForIpKey(ipKey),
            bans: core.store.bansForIpKey(ipKey),
            audit: core.store.auditForIpKey(ipKey),
            cloudflare_actions: cloudflareActionsFor(core.db, ipKey),
          };
          if (json) return printJson(history), 0;
          print(`# ${ipKey}\n\n## bans`);
          table(history.bans as never[], ['id', 'jail', 'state', 'created_at', 'expires_at', 'lifted_by', 'reason']);
          print('\n## events (newest first)');
          table(history.events as never[], ['occurred_at', 'type', 'site_id', 'username', 'weight', 'path', 'ignored_reason']);
          print('\n## audit');
          table(history.audit, ['at', 'actor', 'action', 'ban_id', 'detail']);
          print('\n## cloudflare');
          table(history.cloudflare_actions as never[], Object.keys(history.cloudflare_actions[0] ?? { at: 1, operation: 1, http_status: 1 }));
          return 0;
        });
      case 'allow':
      case 'disallow':
      case 'allowlist':
        return await withCore(config, (core) => runAllowlistCommand(core, { command, target: args.positional[1], note: stringFlag(args, 'note'), force: args.flags.has('force'), json }, { out: print, fail }));
      case 'status':
        return await withCore(config, (core) => {
          const status = {
            database: databasePath(config),
            sites: core.store.listSites().length,
            events_stored: core.store.countEvents(),
            bans: Object.fromEntries(core.store.countBansByState().map((r) => [r.state, r.n])),
            cloudflare: config.cloudflare.api_token ? config.cloudflare.backend : 'dry-run (no CLOUDFLARE_API_TOKEN)',
          };
          if (json) printJson(status);
          else for (const [k, v] of Object.entries(status)) print(`${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
          return 0;
        });
      case 'purge':
        return await withCore(config, (core) => {
          const olderText = args.flags.get('older-than');
          const maxAge = typeof olderText === 'string' ? parseDurationSeconds(olderText) : config.retention.events;
          if (maxAge === null) throw new UsageError(`--older-than "${String(olderText)}" is not a duration`);
          const deleted = purgeOldEvents(core, Date.now(), maxAge);
          print(`purged ${deleted} event${deleted === 1 ? '' : 's'} older than ${formatDuration(maxAge)}`);
          return 0;
        });
      case 'cloudflare': {
        const db = openDatabase(databasePath(config));
        try {
          return await runCloudflareCommand(args.positional.slice(1), { db, config: config.cloudflare, out: print });
        } finally {
          db.close();
        }
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) return fail(`${error.message}\n\n${USAGE}`);
    throw error;
  }
}
