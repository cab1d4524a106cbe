// One actor per ip_key at a time: the outbox worker and the reconciler must never both
// decide what Cloudflare holds for the same IP.
export class KeyLocks {
  private readonly held = new Map<string, Promise<void>>();

  isLocked(key: string): boolean {
    return this.held.has(key);
  }

  get size(): number {
    return this.held.size;
  }

  /** Takes the lock if free; returns the release function, or null when busy. */
  tryLock(key: string): (() => void) | null {
    if (this.held.has(key)) return null;
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    this.held.set(key, done);
    return () => {
      if (this.held.get(key) === done) this.held.delete(key);
      release();
    };
  }

  /** Waits for the key to be free, then runs fn holding it. */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      const release = this.tryLock(key);
      if (release) {
        try {
          return await fn();
        } finally {
          release();
        }
      }
      await this.held.get(key);
    }
  }

  /** Resolves when no key is held (used by stop and drain). */
  async idle(): Promise<void> {
    while (this.held.size) await Promise.all([...this.held.values()]);
  }
}
