// The two cookies the dashboard sets, read and written without a cookie library.
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'edgejail_session';
/** Double-submit token of the login form, which has no session yet to hold one. */
export const LOGIN_CSRF_COOKIE = 'edgejail_login_csrf';
const COOKIE_PATH = '/dashboard';

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Secure when the browser reached us over https, directly or through a TLS-terminating
 * proxy. X-Forwarded-Proto is not otherwise trusted; a forged "https" only makes the
 * cookie stricter.
 */
function overHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

export function cookieHeader(request: FastifyRequest, name: string, value: string, maxAgeSeconds?: number): string {
  const parts = [`${name}=${value}`, `Path=${COOKIE_PATH}`, 'HttpOnly', 'SameSite=Strict'];
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${maxAgeSeconds}`);
  if (overHttps(request)) parts.push('Secure');
  return parts.join('; ');
}

export const clearCookieHeader = (request: FastifyRequest, name: string) => cookieHeader(request, name, '', 0);
