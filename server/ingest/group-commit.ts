// Group commit: the batches that arrive in one event-loop turn share one transaction.
// Each commit writes the WAL pages it touched (the events table, four indexes, the
// site's row) whole; a single-event request touched about as many pages as it would
// with fifty events, so under load most of the work was the commit itself. Every batch
// runs in its own savepoint, so one that fails rolls back alone, and each is answered
// only after the commit that holds it: a 2xx still means it is on disk.
export interface GroupCommit {
  /** Runs `stage` in the next group's transaction; resolves after that transaction committed. */
  run<T>(stage: () => T): Promise<T>;
}

interface Job {
  stage: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** `transaction` opens the outer transaction; `savepoint` nests one inside it. */
export function createGroupCommit(transaction: (fn: () => void) => void, savepoint: <T>(fn: () => T) => T): GroupCommit {
  let queue: Job[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const jobs = queue;
    queue = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      transaction(() => {
        for (const job of jobs) {
          try {
            outcomes.push({ ok: true, value: savepoint(job.stage) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed: nothing of the group is stored.
      for (const job of jobs) job.reject(error);
      return;
    }
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }

  return {
    run<T>(stage: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ stage, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          // After this turn's I/O callbacks: every request whose body arrived in it joins.
          setImmediate(flush);
        }
      });
    },
  };
}
