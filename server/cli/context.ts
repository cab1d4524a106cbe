// What most commands need: the database the service uses, the core wired over it, and
// the lookups of an IP or a site that a person types.
import { databasePath } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createCore, type Core } from '../core.ts';
import { openDatabase, type Db } from '../store/db.ts';
import type { BanRow, PublicSite } from '../store/store.ts';
import { CommandFailed } from './command.ts';

export async function withDatabase<T>(config: Config, fn: (db: Db) => T | Promise<T>): Promise<T> {
  const db = openDatabase(databasePath(config));
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

export function withCore<T>(config: Config, fn: (core: Core) => T | Promise<T>): Promise<T> {
  return withDatabase(config, (db) => fn(createCore(config, db)));
}

/** An address to ban, judged as ingest judges it: its key, and why it is protected if it is. */
export function needIp(core: Core, value: string): { ip: string; ipKey: string; protectedBy: string | null } {
  const verdict = core.judgeAddress(value);
  if (!verdict) throw new CommandFailed(`"${value}" is not an IP address`);
  return verdict;
}

/** The ip_key an admin names to look up or unban: an address, or a banned network as written. */
export function needIpKey(core: Core, value: string): string {
  const ipKey = core.ipKeyFromInput(value);
  if (ipKey === null) throw new CommandFailed(`"${value}" is not an IP address or banned prefix`);
  return ipKey;
}

/** A site by its id or by its name, as the person typed it. */
export function findSite(core: Core, idOrName: string): PublicSite {
  const sites = core.store.listSites();
  const byId = sites.find((s) => s.id === idOrName);
  if (byId) return byId;
  const byName = sites.filter((s) => s.name === idOrName);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    // Only databases from before names were unique can hold these.
    throw new CommandFailed(`${byName.length} sites are named "${idOrName}"; use the id: ${byName.map((s) => s.id).join(', ')}`);
  }
  throw new CommandFailed(`no site with the id or name "${idOrName}" (\`edgejail site list\` shows them)`);
}

/** The stored JSON text as the list it is, so `--json` readers get an array, not a string. */
export const triggerEventIds = (ban: BanRow): string[] | null => (ban.trigger_event_ids ? (JSON.parse(ban.trigger_event_ids) as string[]) : null);
