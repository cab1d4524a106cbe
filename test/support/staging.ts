// Batches staged straight on a service's core, as the group commit stages them, so a test
// can make one fail inside its savepoint after its events were judged.
import assert from 'node:assert/strict';
import { stageBatch } from '../../server/ingest/ingest-batch.ts';
import type { EventBatch } from '../../server/contract/events.ts';
import type { startService } from './service.ts';

/** Stages batches on the service's own site as the group commit does, each call in a transaction or savepoint of the caller's. */
export function stagingOn(svc: Awaited<ReturnType<typeof startService>>, options: { shield?: boolean } = {}) {
  const core = svc.app.core;
  const site = core.store.siteById(svc.site.id)!;
  const ctx = { store: core.store, bans: core.bans, ipv6Prefix: core.config.ipv6_prefix, ignoreLists: core.ignoreLists, ...(options.shield ? { shield: core.shield } : {}) };
  const now = Date.now();
  const stage = (events: unknown[], nowMs = now) => stageBatch(ctx, site, { events } as unknown as EventBatch, nowMs);
  /** As the group commit runs two batches: each in a savepoint of the group's transaction, the second failing after its events were judged. */
  const groupWhereSecondFails = (first: unknown[], second: unknown[], nowMs = now) => {
    core.bans.transaction(() => {
      core.bans.transaction(() => stage(first, nowMs));
      assert.throws(() => core.bans.transaction(() => {
        stage(second, nowMs);
        throw new Error('the batch fails after its events were judged');
      }), /the batch fails/);
    });
  };
  return { core, stage, groupWhereSecondFails };
}
