// Timers the service runs while it is up: lifting expired bans (within a second of
// expiry), pruning jail windows, and purging events past their retention age.
import type { FastifyInstance } from 'fastify';
import { pruneJailState } from './jail/engine.ts';
import { purgeOldEvents } from './retention.ts';

const EXPIRY_TICK_MS = 250;
const PRUNE_TICK_MS = 10_000;

export function startBackgroundJobs(app: FastifyInstance) {
  const { core } = app;
  const expired = app.metrics.counter('edgejail_bans_expired_total', 'Bans lifted because their time was up');
  const purged = app.metrics.counter('edgejail_events_purged_total', 'Events deleted by retention');
  const guard = (name: string, fn: () => void) => () => {
    try {
      fn();
    } catch (error) {
      app.log.error({ err: error, job: name }, 'background job failed; it runs again on the next tick');
    }
  };
  // Bans that ran out while we were down go first.
  guard('expiry', () => expired.inc({}, core.bans.liftExpired()))();
  const timers = [
    setInterval(guard('expiry', () => {
      expired.inc({}, core.bans.liftExpired());
      core.bans.syncFromStore();
    }), EXPIRY_TICK_MS),
    setInterval(guard('prune', () => pruneJailState(core.jails, core.now())), PRUNE_TICK_MS),
    setInterval(guard('shield', () => core.shield.tick()), EXPIRY_TICK_MS * 4),
    setInterval(
      guard('purge', () => purged.inc({}, purgeOldEvents(core, core.now()))),
      core.config.retention.purge_interval * 1000,
    ),
  ];
  for (const t of timers) t.unref();
  return { stop: () => timers.forEach(clearInterval) };
}
