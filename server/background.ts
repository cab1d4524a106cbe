// Timers the service runs while it is up: lifting expired bans (within a second of
// expiry), following what the CLI changes in the database (bans and the allowlist),
// pruning jail windows, and purging events past their retention age.
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import { pruneJailState } from './jail/engine.ts';
import { purgeOldEvents } from './retention.ts';

const EXPIRY_TICK_MS = 250;
const PRUNE_TICK_MS = 10_000;

export function startBackgroundJobs(app: FastifyInstance) {
  const { core } = app;
  const registers = [app.metrics];
  const expired = new Counter({ name: 'edgejail_bans_expired_total', help: 'Bans lifted because their time was up', registers });
  const purged = new Counter({ name: 'edgejail_events_purged_total', help: 'Events deleted by retention', registers });
  const guard = (name: string, fn: () => void) => () => {
    try {
      fn();
    } catch (error) {
      app.log.error({ err: error, job: name }, 'background job failed; it runs again on the next tick');
    }
  };
  // Bans that ran out while we were down go first; then bans that reach an address the
  // allowlist or never-ban list now protects (a config change, an older version's /64 keys).
  guard('expiry', () => expired.inc(core.bans.liftExpired()))();
  guard('protected', () => {
    const lifted = core.liftBansOnProtectedAddresses();
    if (lifted.length) app.log.warn({ lifted: lifted.length, ip_keys: [...new Set(lifted.map((b) => b.ip_key))].slice(0, 20) }, 'lifted bans that reached allowlisted or never-ban addresses');
  })();
  // The ban lookup's filter of banned addresses, a chunk per turn so requests interleave.
  let warming: NodeJS.Immediate | null = null;
  const warm = guard('lookup-filter', () => {
    warming = core.bans.warmLookups() ? null : setImmediate(warm);
  });
  warming = setImmediate(warm);
  const timers = [
    setInterval(guard('expiry', () => {
      expired.inc(core.bans.liftExpired());
      core.bans.syncFromStore();
      core.expireAllowlist();
      if (core.syncAllowlistFromStore()) {
        // The CLI lifted the bans it covered; this catches any an event made in the meantime.
        const lifted = core.liftBansOnProtectedAddresses();
        app.log.info({ entries: core.store.listAllowlist().length, lifted: lifted.length }, 'allowlist changed by another process; now in force');
      }
    }), EXPIRY_TICK_MS),
    setInterval(guard('prune', () => pruneJailState(core.jails, core.now())), PRUNE_TICK_MS),
    setInterval(guard('shield', () => core.shield.tick()), EXPIRY_TICK_MS * 4),
    setInterval(
      guard('purge', () => purged.inc(purgeOldEvents(core, core.now()))),
      core.config.retention.purge_interval * 1000,
    ),
  ];
  for (const t of timers) t.unref();
  return {
    stop: () => {
      timers.forEach(clearInterval);
      if (warming) clearImmediate(warming);
    },
  };
}
