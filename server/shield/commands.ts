// `edgejail shield up|down|status` and the zone settings of `edgejail site add|set`: the
// command functions; cli.ts only dispatches to them.
import type { Core } from '../core.ts';
import { formatDuration, parseDurationSeconds } from '../config/duration.ts';
import { ShieldError } from './shield-service.ts';
import { normaliseHostname, ZONE_ID_RE } from './hostname.ts';

export interface CommandIo {
  print: (line?: string) => void;
  fail: (message: string) => number;
}

type Flags = Map<string, string | true>;

export interface SiteZoneChange {
  zone_id?: string | null;
  hostname?: string | null;
}

/**
 * `--zone <zone id>` and `--host <hostname>`; `default` puts a field back to its default
 * (CLOUDFLARE_ZONE_ID, the host of the plugin's site_url). Returns a message when one is wrong.
 */
export function siteZoneFromFlags(flags: Flags): SiteZoneChange | string {
  const change: SiteZoneChange = {};
  const zone = flags.get('zone');
  if (zone !== undefined) {
    if (typeof zone !== 'string') return '--zone needs a zone id';
    const value = zone.trim().toLowerCase();
    if (value === 'default') change.zone_id = null;
    else if (!ZONE_ID_RE.test(value)) return `--zone "${zone}" is not a Cloudflare zone id (32 hex characters, shown on the zone's Overview page)`;
    else change.zone_id = value;
  }
  const host = flags.get('host');
  if (host !== undefined) {
    if (typeof host !== 'string') return '--host needs a hostname';
    if (host.trim().toLowerCase() === 'default') change.hostname = null;
    else {
      const hostname = normaliseHostname(host);
      if (!hostname) return `--host "${host}" is not a hostname (e.g. shop.example.com: no scheme, port or path)`;
      change.hostname = hostname;
    }
  }
  return change;
}

/** Writes a site's zone settings with an audit row; call inside the caller's transaction. */
export function applySiteZone(core: Core, siteId: string, change: SiteZoneChange, actor: string): boolean {
  if (change.zone_id === undefined && change.hostname === undefined) return core.store.siteById(siteId) !== undefined;
  const ok = core.shield.setSiteZone(siteId, change);
  if (ok) core.store.audit({ at: new Date(core.now()).toISOString(), actor, action: 'site_set', site_id: siteId, detail: change });
  return ok;
}

/** `site set <id> --zone … --host …` */
export function siteSetCommand(core: Core, siteId: string | undefined, flags: Flags, io: CommandIo): number {
  if (!siteId) return io.fail('site set needs a site id: edgejail site set <id> [--zone <zone id>] [--host <hostname>]');
  const change = siteZoneFromFlags(flags);
  if (typeof change === 'string') return io.fail(change);
  if (change.zone_id === undefined && change.hostname === undefined) return io.fail('site set needs --zone <zone id> and/or --host <hostname>');
  const ok = core.store.transaction(() => applySiteZone(core, siteId, change, 'admin:cli'));
  if (!ok) return io.fail(`no site with id ${siteId}`);
  const site = core.shield.withZone(core.store.siteById(siteId)!);
  io.print(`site ${siteId}: zone ${site.zone_id ?? '(none: set --zone or CLOUDFLARE_ZONE_ID)'}, hostname ${site.hostname ?? '(none yet: set --host, or the plugin reports its site_url)'}`);
  return 0;
}

/** `shield up|down|status` */
export function shieldCommand(core: Core, argv: string[], flags: Flags, io: CommandIo): number {
  const [sub, siteRef] = argv;
  try {
    switch (sub) {
      case 'up': {
        if (!siteRef) return io.fail('shield up needs a site id or name');
        const forText = flags.get('for');
        const duration = typeof forText === 'string' ? parseDurationSeconds(forText) : core.config.shield.bantime;
        if (!duration) return io.fail(`--for "${String(forText)}" is not a duration (e.g. 30m, 1h, 1d)`);
        const reasonFlag = flags.get('reason');
        const reason = typeof reasonFlag === 'string' && reasonFlag.trim() ? reasonFlag.trim().slice(0, 500) : 'raised by hand';
        const { shield, extended } = core.shield.raise(siteRef, { durationSeconds: duration, reason, actor: 'admin:cli' });
        io.print(`login shield ${extended ? 'extended' : 'up'} for ${shield.site_id} until ${shield.expires_at} (${formatDuration(duration)}): ${shield.reason}`);
        return 0;
      }
      case 'down': {
        if (!siteRef) return io.fail('shield down needs a site id or name');
        const shield = core.shield.lower(siteRef, 'admin:cli');
        io.print(`login shield down for ${shield.site_id} (it was up since ${shield.raised_at}: ${shield.reason})`);
        return 0;
      }
      case 'status': {
        const rows = core.shield.status();
        if (flags.has('json')) {
          io.print(JSON.stringify(rows, null, 2));
          return 0;
        }
        if (!rows.length) {
          io.print('(no sites)');
          return 0;
        }
        for (const r of rows) {
          const state = r.up ? `UP since ${r.since} until ${r.until} (${r.reason}; by ${r.raised_by})` : r.enabled ? 'down' : 'off (no zone; set shield.enabled or a zone)';
          io.print(`${r.name} (${r.site_id})  zone ${r.zone_id ?? '-'}  host ${r.hostname ?? '-'}\n  ${state}\n  now: ${r.failures} failures from ${r.ips} IPs${r.top_username ? `; '${r.top_username.username}' from ${r.top_username.ips} IPs` : ''}`);
        }
        return 0;
      }
      default:
        return io.fail('shield up <site> [--for <duration>] [--reason <text>] | shield down <site> | shield status [--json]');
    }
  } catch (error) {
    if (error instanceof ShieldError) return io.fail(error.message);
    throw error;
  }
}
