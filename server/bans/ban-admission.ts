// Who may add a jail ban right now: at most `maxActiveBans` active bans in all, and at
// most `maxNewBansPerSitePerMinute` new ones caused by one site's events. One site's
// secret then cannot grow the service's state without bound, nor spend the others' share.

export type RefusalCause = 'active_ban_cap' | 'site_quota';

export interface Refusal {
  cause: RefusalCause;
  limit: number;
  /** The limit in words, for the audit log and the operator. */
  message: string;
}

export interface AdmissionLimits {
  maxActiveBans: number;
  maxNewBansPerSitePerMinute: number;
}

const MINUTE_MS = 60_000;

export function createBanAdmission(limits: AdmissionLimits) {
  // site id -> creation times of its bans in the last minute, oldest first (at most the quota).
  const recentBySite = new Map<string, number[]>();

  function recent(siteId: string, nowMs: number): number[] {
    let times = recentBySite.get(siteId);
    if (!times) {
      times = [];
      recentBySite.set(siteId, times);
    }
    let k = 0;
    while (k < times.length && times[k]! <= nowMs - MINUTE_MS) k++;
    if (k) times.splice(0, k);
    return times;
  }

  return {
    /** Null when a ban caused by siteId's events may be added now, else why not. */
    check(siteId: string, activeBans: number, nowMs: number): Refusal | null {
      if (activeBans >= limits.maxActiveBans) {
        return { cause: 'active_ban_cap', limit: limits.maxActiveBans, message: `${limits.maxActiveBans} active bans (overload.max_active_bans) reached` };
      }
      if (recent(siteId, nowMs).length >= limits.maxNewBansPerSitePerMinute) {
        return {
          cause: 'site_quota',
          limit: limits.maxNewBansPerSitePerMinute,
          message: `this site caused ${limits.maxNewBansPerSitePerMinute} new bans in the last minute (overload.max_new_bans_per_site_per_minute)`,
        };
      }
      return null;
    },
    record(siteId: string, nowMs: number): void {
      recent(siteId, nowMs).push(nowMs);
    },
    /** Takes back one ban recorded at `atMs`: its transaction rolled back. */
    unrecord(siteId: string, atMs: number): void {
      const times = recentBySite.get(siteId);
      const i = times?.lastIndexOf(atMs) ?? -1;
      if (i >= 0) times!.splice(i, 1);
    },
  };
}

export type BanAdmission = ReturnType<typeof createBanAdmission>;
