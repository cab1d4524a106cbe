// Dashboard sessions live in memory only: a restart signs everyone out, which is the safe
// failure. The cookie carries a random id (security.ts sets it); the forms' CSRF tokens are
// bound to that id by @fastify/csrf-protection. Our own store rather than @fastify/session:
// its default store keeps every session until destroyed (its README: not for production),
// so it would need this bounded store behind it anyway, plus a signing secret for a cookie
// that is already a random id.
import { randomBytes } from 'node:crypto';

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
  /** A refused form's fields (never its CSRF token), to fill that form again after the redirect. */
  form?: { name: 'ban' | 'allowlist'; values: Record<string, string> };
}

export interface Session {
  id: string;
  createdAtMs: number;
  lastSeenAtMs: number;
  /** One message for the next page after a redirect (Post/Redirect/Get). */
  flash?: Flash;
}

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
  /** Oldest sessions are dropped beyond this, so repeated logins cannot grow memory. */
  max: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 2 * 3600_000, absoluteMs: 12 * 3600_000, max: 200 };

const newSessionId = () => randomBytes(32).toString('base64url');

export function createSessionStore(now: () => number, limits: SessionLimits = DEFAULT_SESSION_LIMITS) {
  // Map iteration order is insertion order: the first entry is the oldest session.
  const sessions = new Map<string, Session>();

  const expired = (s: Session, nowMs: number) => nowMs - s.lastSeenAtMs > limits.idleMs || nowMs - s.createdAtMs > limits.absoluteMs;

  function sweep(nowMs: number): void {
    for (const [id, s] of sessions) if (expired(s, nowMs)) sessions.delete(id);
    while (sessions.size >= limits.max) sessions.delete(sessions.keys().next().value!);
  }

  return {
    create(): Session {
      const nowMs = now();
      sweep(nowMs);
      const session: Session = { id: newSessionId(), createdAtMs: nowMs, lastSeenAtMs: nowMs };
      sessions.set(session.id, session);
      return session;
    },

    /** The live session with this id (its idle timer restarted), or null. */
    get(id: string | undefined): Session | null {
      if (!id) return null;
      const session = sessions.get(id);
      if (!session) return null;
      const nowMs = now();
      if (expired(session, nowMs)) {
        sessions.delete(id);
        return null;
      }
      session.lastSeenAtMs = nowMs;
      return session;
    },

    destroy(id: string): void {
      sessions.delete(id);
    },

    size: () => sessions.size,
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
