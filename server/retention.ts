// Retention: events older than retention.events are deleted in small chunks so a purge
// never holds the write lock long enough to stall ingest. Bans and the audit log stay.
import type { Core } from './core.ts';

const CHUNK = 5000;

export function purgeOldEvents(core: Core, nowMs: number, maxAgeSeconds = core.config.retention.events): number {
  const before = new Date(nowMs - maxAgeSeconds * 1000).toISOString();
  const at = new Date(nowMs).toISOString();
  let total = 0;
  for (;;) {
    const deleted = core.store.purgeEventsChunk(before, CHUNK);
    total += deleted;
    if (deleted < CHUNK) break;
  }
  // The hours whose events are gone; the hour `before` falls in keeps its row until the next purge.
  core.store.purgeActivity(before, at, CHUNK);
  if (total) core.store.audit({ at, actor: 'system', action: 'purge', detail: { events_deleted: total, before } });
  return total;
}
