// Group commit: the batches that arrive in one event-loop turn share one transaction.
// Each commit writes the WAL pages it touched (the events table, four indexes, the
// site's row) whole; a single-event request touched about as many pages as it would
// with fifty events, so under load most of the work was the commit itself. Every batch
// runs in its own savepoint, so one that fails rolls back alone, and each is answered
// only after the commit that holds it: a 2xx still means it is on disk.
//
// A group is also a time slice: once its batches have taken `sliceMs`, it commits and the
// rest wait for the next turn. Node reads sockets only between turns, so a turn that
// judged every batch a flood had let in (300 ms at 10x load) held every other request,
// the 429s that shed the flood among them, for as long. While the service refuses requests
// because its loop is saturated the slice is shorter (`sliceMs` is then a function, read
// once a group): a commit over fewer batches costs a little throughput, and every refused
// request waits for less.
import { createHolds } from '../shared/holds.ts';

export interface GroupCommit {
  /** Runs `stage` in the next group's transaction; resolves after that transaction committed. */
  run<T>(stage: () => T): Promise<T>;
  /**
   * Holds every commit until the returned release is called (once is enough; more are
   * ignored). Batches still queue, and the event loop runs on.
   */
  hold(): () => void;
}

interface Job {
  stage: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Long enough that a commit serves many batches, short enough that a shed answer waits for little. */
export const GROUP_SLICE_MS = 10;
/**
 * The slice while the service refuses requests for saturation. Under 10x the saturating
 * load (bench, interleaved runs, with the door in overload.ts) 5 ms halved the refusals'
 * p99 and served ~6% fewer events, within the noise; 3 ms refused no faster and served a
 * fifth fewer. Outside a flood 5 ms served ~10% fewer than 10.
 */
export const SHEDDING_SLICE_MS = 5;

/** `transaction` opens the outer transaction; `savepoint` nests one inside it. */
export function createGroupCommit(
  transaction: (fn: () => void) => void,
  savepoint: <T>(fn: () => T) => T,
  options: { sliceMs?: number | (() => number); clock?: () => number } = {},
): GroupCommit {
  const slice = options.sliceMs ?? GROUP_SLICE_MS;
  const sliceOf = typeof slice === 'number' ? () => slice : slice;
  const clock = options.clock ?? (() => performance.now());
  const queue: Job[] = [];
  let scheduled = false;
  const holds = createHolds(() => {
    if (queue.length > 0) schedule();
  });

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // After this turn's I/O callbacks: every request whose body arrived in it joins.
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    if (holds.held) return; // the release schedules again
    const pending = queue;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const started = clock();
    const sliceMs = sliceOf();
    try {
      transaction(() => {
        // At least one batch per group, so a slow one cannot stall the queue.
        while (outcomes.length < pending.length && (outcomes.length === 0 || clock() - started < sliceMs)) {
          try {
            outcomes.push({ ok: true, value: savepoint(pending[outcomes.length]!.stage) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed: nothing of the group is stored.
      const failed = pending.splice(0, outcomes.length || pending.length);
      if (pending.length > 0) schedule();
      for (const job of failed) job.reject(error);
      return;
    }
    const done = pending.splice(0, outcomes.length);
    if (pending.length > 0) schedule();
    done.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }

  return {
    run<T>(stage: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ stage, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    hold: holds.hold,
  };
}
