// Timers the service runs while it is up: lifting expired bans (within a second of
// expiry), following what the CLI changes in the database (bans and the allowlist),
// pruning jail windows, and purging events past their retention age.
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import { pruneJailState } from './jail/engine.ts';
import { purgeOldEvents } from './retention.ts';

const EXPIRY_TICK_MS = 250;
const PRUNE_TICK_MS = 10_000;
// Active ban keys read per event-loop turn by the start-up passes: a few ms each.
const START_UP_PAGE = 5_000;

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
  // Bans that ran out while we were down go first.
  guard('expiry', () => expired.inc(core.bans.liftExpired()))();
  // Once the app is ready (listening, for the service), a page per event-loop turn so
  // requests interleave: bans that reach an address the allowlist or never-ban list now
  // protects (a config change, an older version's /64 keys), then the ban lookup's filter
  // of banned addresses. At 200,000 active bans each is a pass over every key, which
  // before listening held start-up back; both only lift bans or save queries meanwhile.
  let slice: NodeJS.Immediate | null = null;
  let retry: NodeJS.Timeout | null = null;
  let stopped = false;
  let sweptTo: string | null = '';
  const liftedKeys: string[] = [];
  let lifted = 0;
  const step = () => {
    slice = null;
    retry = null;
    if (stopped) return;
    try {
      if (sweptTo !== null) {
        const page = core.liftBansOnProtectedAddressesAfter(sweptTo, START_UP_PAGE);
        lifted += page.lifted.length;
        for (const ban of page.lifted) if (liftedKeys.length < 20 && !liftedKeys.includes(ban.ip_key)) liftedKeys.push(ban.ip_key);
        sweptTo = page.next;
        if (sweptTo === null && lifted) app.log.warn({ lifted, ip_keys: liftedKeys }, 'lifted bans that reached allowlisted or never-ban addresses');
      } else if (core.bans.warmLookups(START_UP_PAGE)) {
        return;
      }
    } catch (error) {
      // A busy database (the CLI writing): the same page again a little later.
      app.log.error({ err: error, job: 'start-up passes' }, 'background job failed; it runs again in a second');
      retry = setTimeout(step, 1000).unref();
      return;
    }
    slice = setImmediate(step);
  };
  app.addHook('onReady', async () => {
    slice = setImmediate(step);
  });
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
      stopped = true;
      if (slice) clearImmediate(slice);
      if (retry) clearTimeout(retry);
    },
  };
}
