// Turns jail decisions and admin actions into ban rows, audit entries and outbox work,
// always in the caller's transaction, and lifts bans when they expire.
import type { Store, BanRow } from '../store/store.ts';
import { observeBan, observeUnban, type BanDecision, type JailState } from '../jail/engine.ts';

export interface ActiveBanSummary {
  jail: string;
  expiresAtMs: number;
}

export interface BanServiceDeps {
  store: Store;
  jails: JailState;
  now: () => number;
  /** Called after a commit that changed what Cloudflare must enforce. */
  onEnforcementChange?: () => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function createBanService({ store, jails, now, onEnforcementChange }: BanServiceDeps) {
  // The ban that reaches furthest per ip_key: answers "is this IP banned?" per event without SQL.
  const active = new Map<string, ActiveBanSummary>();

  function remember(ban: BanRow): void {
    const expiresAtMs = Date.parse(ban.expires_at);
    const current = active.get(ban.ip_key);
    if (!current || current.expiresAtMs < expiresAtMs) active.set(ban.ip_key, { jail: ban.jail, expiresAtMs });
  }

  function recomputeActive(ipKey: string): void {
    active.delete(ipKey);
    for (const ban of store.activeBansForIpKey(ipKey)) remember(ban);
  }

  for (const ban of store.activeBans()) remember(ban);
  // Bans and unbans written by another process (the CLI) show up in the audit log;
  // following it keeps `active` true without re-reading every ban.
  let auditWatermark = store.lastAuditId();

  /** Records a jail decision (and any recidive decision it triggers). Call inside a transaction. */
  function applyDecision(decision: BanDecision, nowMs: number): BanRow[] {
    const created: BanRow[] = [];
    const pending = [decision];
    while (pending.length) {
      const d = pending.shift()!;
      const ban = insertBan({
        ip_key: d.ipKey,
        jail: d.jail,
        reason: d.reason,
        trigger_event_ids: JSON.stringify(d.triggerEventIds),
        ban_count: d.banCount,
        created_at: iso(nowMs),
        expires_at: iso(d.expiresAtMs),
      }, `jail:${d.jail}`, { ban_count: d.banCount, duration_seconds: d.durationSeconds, trigger_event_ids: d.triggerEventIds });
      created.push(ban);
      pending.push(...observeBan(jails, { ipKey: ban.ip_key, jail: ban.jail, createdAtMs: nowMs, expiresAtMs: d.expiresAtMs, liftedAtMs: null }, nowMs));
    }
    return created;
  }

  function insertBan(ban: Parameters<Store['insertBan']>[0], actor: string, detail: Record<string, unknown>): BanRow {
    const id = store.insertBan(ban);
    const row: BanRow = { ...ban, id, lifted_at: null, lifted_by: null, state: 'active' };
    store.audit({ at: ban.created_at, actor, action: 'ban', ip_key: ban.ip_key, ban_id: id, detail: { jail: ban.jail, reason: ban.reason, expires_at: ban.expires_at, ...detail } });
    store.enqueueEnforcement(ban.ip_key, ban.created_at);
    remember(row);
    return row;
  }

  return {
    applyDecision,

    currentBan(ipKey: string, nowMs = now()): ActiveBanSummary | null {
      const ban = active.get(ipKey);
      return ban && ban.expiresAtMs > nowMs ? ban : null;
    },

    activeCount: () => active.size,

    /** A manual ban; extends the existing manual ban on that ip_key rather than stacking another. */
    manualBan(input: { ipKey: string; durationSeconds: number; reason: string; actor: string }): { ban: BanRow; extended: boolean } {
      const nowMs = now();
      const expiresAt = iso(nowMs + input.durationSeconds * 1000);
      const result = store.transaction(() => {
        const existing = store.activeBansForIpKey(input.ipKey).find((b) => b.jail === 'manual');
        if (existing) {
          const newExpiry = existing.expires_at > expiresAt ? existing.expires_at : expiresAt;
          store.extendBan(existing.id, newExpiry, input.reason);
          store.audit({ at: iso(nowMs), actor: input.actor, action: 'extend', ip_key: input.ipKey, ban_id: existing.id, detail: { from: existing.expires_at, to: newExpiry, reason: input.reason } });
          store.enqueueEnforcement(input.ipKey, iso(nowMs));
          const ban = store.banById(existing.id)!;
          remember(ban);
          return { ban, extended: true };
        }
        const ban = insertBan(
          { ip_key: input.ipKey, jail: 'manual', reason: input.reason, trigger_event_ids: null, ban_count: 1, created_at: iso(nowMs), expires_at: expiresAt },
          input.actor,
          { duration_seconds: input.durationSeconds },
        );
        observeBan(jails, { ipKey: input.ipKey, jail: 'manual', createdAtMs: nowMs, expiresAtMs: Date.parse(expiresAt), liftedAtMs: null }, nowMs);
        return { ban, extended: false };
      });
      onEnforcementChange?.();
      return result;
    },

    /** Lifts every active ban on ipKey; returns the bans lifted (empty when none was active). */
    unban(ipKey: string, actor: string): BanRow[] {
      const at = iso(now());
      const lifted = store.transaction(() => {
        const bans = store.activeBansForIpKey(ipKey);
        for (const ban of bans) {
          store.liftBan(ban.id, at, actor);
          store.audit({ at, actor, action: 'unban', ip_key: ipKey, ban_id: ban.id, detail: { jail: ban.jail } });
        }
        if (bans.length) store.enqueueEnforcement(ipKey, at);
        return bans;
      });
      if (lifted.length) {
        observeUnban(jails, ipKey, null);
        active.delete(ipKey);
        onEnforcementChange?.();
      }
      return lifted;
    },

    /** Picks up ban changes other processes (the CLI) committed since the last call. */
    syncFromStore(): number {
      const changes = store.banChangesSince(auditWatermark);
      if (!changes.length) return 0;
      auditWatermark = changes[changes.length - 1]!.id;
      const ipKeys = new Set(changes.filter((c) => c.actor === 'admin:cli').map((c) => c.ip_key));
      for (const ipKey of ipKeys) {
        recomputeActive(ipKey);
        if (!active.has(ipKey)) observeUnban(jails, ipKey, null);
      }
      if (ipKeys.size) onEnforcementChange?.();
      return ipKeys.size;
    },

    /** Lifts bans whose time is up (also those that expired while the service was down). */
    liftExpired(nowMs = now()): number {
      const at = iso(nowMs);
      const expired = store.expiredActiveBans(at);
      if (!expired.length) return 0;
      store.transaction(() => {
        for (const ban of expired) {
          store.liftBan(ban.id, at, 'expiry');
          store.audit({ at, actor: 'system', action: 'expire', ip_key: ban.ip_key, ban_id: ban.id, detail: { jail: ban.jail, expires_at: ban.expires_at } });
          store.enqueueEnforcement(ban.ip_key, at);
        }
      });
      for (const ipKey of new Set(expired.map((b) => b.ip_key))) recomputeActive(ipKey);
      onEnforcementChange?.();
      return expired.length;
    },
  };
}

export type BanService = ReturnType<typeof createBanService>;
