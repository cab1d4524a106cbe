// Waiting for something to become true, with a generous deadline: the e2e test asserts
// what happens, never how fast, so every wait polls instead of sleeping a fixed time.
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/** Resolves with the first truthy result of `probe`; rejects naming `what` and the last result. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: PollOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last result: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(options.intervalMs ?? 100);
  }
}
