// The admin strategy: a bearer token from the config, or generated once into the data dir.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../http/errors.ts';
import { ConfigError } from '../config/load.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';
export const ADMIN_TOKEN_MIN_LENGTH = 24;
// Visible ASCII only: a token of spaces or invisible characters is one a client can send by accident.
const TOKEN_RE = /^[\x21-\x7e]+$/;

/** Why a token may not guard the admin API, or null when it may. */
export function adminTokenProblem(token: string): string | null {
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) return `is ${token.length} characters long; it must have at least ${ADMIN_TOKEN_MIN_LENGTH}`;
  if (!TOKEN_RE.test(token)) return 'holds white space or control characters; use printable ASCII only';
  return null;
}

/** The configured token, or the one kept in <dataDir>/admin-token (created with mode 0600 on first use). */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; source: 'config' | 'file' | 'generated' } {
  if (configured !== undefined) {
    const problem = adminTokenProblem(configured);
    if (problem) throw new ConfigError(`the admin token (EDGEJAIL_ADMIN_TOKEN / admin_token) ${problem}`);
    return { token: configured, source: 'config' };
  }
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    // Only the line ending an editor adds is dropped; anything else must be the token itself.
    const token = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    const problem = adminTokenProblem(token);
    if (problem) {
      throw new ConfigError(`the admin token in ${file} ${problem}. Put a long random token in it (e.g. \`openssl rand -base64 32\`), or delete the file to have one generated`);
    }
    return { token, source: 'file' };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { token, source: 'generated' };
}

// Hashing both sides gives equal lengths, so the compare is constant-time whatever is sent.
const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when `given` is exactly the admin token: never trimmed, never case-folded. */
export function isAdminToken(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

export function verifyAdminToken(request: FastifyRequest, token: string): void {
  const auth = request.headers.authorization;
  if (!auth) throw unauthorized('missing_token', 'admin routes need "Authorization: Bearer <admin token>"');
  // One space and the token, as RFC 6750 spells it; white space around it is not ours to drop.
  const match = /^Bearer (\S+)$/i.exec(auth);
  if (!match) throw unauthorized('malformed_token', 'the Authorization header must be "Bearer <admin token>"');
  if (!isAdminToken(match[1]!, token)) throw unauthorized('bad_token', 'the admin token is not valid');
}
