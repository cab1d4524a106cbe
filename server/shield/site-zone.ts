// A site's Cloudflare zone and hostname as a person types them (`--zone`, `--host`), and
// writing them with an audit row: shared by `site add` and `site set`.
import type { Core } from '../core.ts';
import { normaliseHostname, ZONE_ID_RE } from './hostname.ts';

export interface SiteZoneChange {
  zone_id?: string | null;
  hostname?: string | null;
}

/**
 * `default` puts a field back to its default (CLOUDFLARE_ZONE_ID, the host of the plugin's
 * site_url); an absent one is left as it is. Returns a message naming the wrong value.
 */
export function parseSiteZone(input: { zone?: string; host?: string }): SiteZoneChange | string {
  const change: SiteZoneChange = {};
  if (input.zone !== undefined) {
    const value = input.zone.trim().toLowerCase();
    if (value === 'default') change.zone_id = null;
    else if (!ZONE_ID_RE.test(value)) return `--zone "${input.zone}" is not a Cloudflare zone id (32 hex characters, shown on the zone's Overview page)`;
    else change.zone_id = value;
  }
  if (input.host !== undefined) {
    if (input.host.trim().toLowerCase() === 'default') change.hostname = null;
    else {
      const hostname = normaliseHostname(input.host);
      if (!hostname) return `--host "${input.host}" is not a hostname (e.g. shop.example.com: no scheme, port or path)`;
      change.hostname = hostname;
    }
  }
  return change;
}

export const changesSiteZone = (change: SiteZoneChange): boolean => change.zone_id !== undefined || change.hostname !== undefined;

/** Writes a site's zone settings with an audit row; call inside the caller's transaction. */
export function applySiteZone(core: Core, siteId: string, change: SiteZoneChange, actor: string): boolean {
  if (!changesSiteZone(change)) return core.store.siteById(siteId) !== undefined;
  const ok = core.shield.setSiteZone(siteId, change);
  if (ok) core.store.audit({ at: new Date(core.now()).toISOString(), actor, action: 'site_set', site_id: siteId, detail: change });
  return ok;
}
