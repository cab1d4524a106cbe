// The site a log's lines belong to, named as an admin names it: its id or its unique name.
import type { SiteRow, Store } from '../store/store.ts';

export function siteForTail(store: Store, idOrName: string): { site: SiteRow } | { problem: string } {
  const byId = store.siteById(idOrName);
  if (byId) return { site: byId };
  const byName = store.listSites().filter((s) => s.name === idOrName);
  if (byName.length === 1) return { site: store.siteById(byName[0]!.id)! };
  const shown = JSON.stringify(idOrName.slice(0, 100));
  if (byName.length > 1) return { problem: `${byName.length} sites are named ${shown}: name it by its id (edgejail site list)` };
  return { problem: `no site with the id or unique name ${shown} (edgejail site list; edgejail site add <name> creates one)` };
}
