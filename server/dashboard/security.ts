// The dashboard's browser-side defences, from Fastify's own plugins: cookies
// (@fastify/cookie), CSRF tokens (@fastify/csrf-protection) and security headers
// (@fastify/helmet). Registered in the dashboard's scope only: ingest never parses a cookie.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyCookie, { type CookieSerializeOptions } from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';

export const SESSION_COOKIE = 'edgejail_session';
/** The CSRF secret (@fastify/csrf-protection's double-submit cookie); the tokens in the forms are derived from it. */
export const CSRF_COOKIE = 'edgejail_csrf';
/** The tokens of the sign-in form, which has no session yet, are bound to this instead of a session id. */
const SIGN_IN = 'sign-in';

/** No inline script or style, nothing from elsewhere, no framing, forms post only to us. */
const DASHBOARD_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/**
 * Secure when the browser reached us over https, directly or through a TLS-terminating
 * proxy. X-Forwarded-Proto is not otherwise trusted; a forged "https" only makes the
 * cookie stricter.
 */
function overHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

function cookieOptions(request: FastifyRequest): CookieSerializeOptions {
  return { path: '/dashboard', httpOnly: true, sameSite: 'strict', secure: overHttps(request) };
}

/**
 * Registers the three plugins. `sessionIdOf` names the signed-in session of a request (set
 * by the time a form's CSRF check runs): each token is bound to the session it was issued
 * in, so another session's token, or the sign-in form's, does not pass.
 */
export async function registerDashboardSecurity(app: FastifyInstance, sessionIdOf: (request: FastifyRequest) => string | undefined): Promise<void> {
  await app.register(fastifyCookie);
  await app.register(fastifyCsrfProtection, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/dashboard', httpOnly: true, sameSite: 'strict' },
    getToken: (request) => {
      const sent = (request.body as Record<string, unknown> | undefined)?.csrf;
      return typeof sent === 'string' ? sent : undefined;
    },
    getUserInfo: (request) => sessionIdOf(request) ?? SIGN_IN,
    // Sessions live in memory, so a key of the process's own is enough: a restart ends them anyway.
    csrfOpts: { hmacKey: randomBytes(32), userInfo: true },
    logLevel: 'info',
  });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS is the TLS front's call for the whole host (it reaches every port and, with
    // includeSubDomains, other services); the dashboard does not make it.
    strictTransportSecurity: false,
  });
  // Pages hold CSRF tokens and attacker data: never cached. Assets set their own cache-control.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });
}

/** The CSRF token for the forms of this page: for its session, or for the sign-in form. */
export function csrfToken(request: FastifyRequest, reply: FastifyReply, sessionId: string | undefined): string {
  // The secret cookie is set here when the browser has none yet (with these options).
  return reply.generateCsrf({ ...cookieOptions(request), userInfo: sessionId ?? SIGN_IN });
}

/** True for the errors @fastify/csrf-protection answers a refused form with. */
export const isCsrfRefusal = (error: { code?: string }) => error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET';

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, sessionId: string, maxAgeSeconds: number): void {
  reply.setCookie(SESSION_COOKIE, sessionId, { ...cookieOptions(request), maxAge: maxAgeSeconds });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
}

export const sessionCookieOf = (request: FastifyRequest): string | undefined => request.cookies[SESSION_COOKIE];
