// The checkpoint thread may ask several writers at once to hold their commits (the group
// commit, the log tail), and a release can be called again by a pass that reports late: the
// count drops once per hold, and the writer resumes when the last hold is let go.
export interface Holds {
  readonly held: boolean;
  /** Holds the writer until the returned release is called (a second call does nothing). */
  hold(): () => void;
}

export function createHolds(onLastRelease: () => void): Holds {
  let count = 0;
  return {
    get held() {
      return count > 0;
    },
    hold() {
      count++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--count === 0) onLastRelease();
      };
    },
  };
}
