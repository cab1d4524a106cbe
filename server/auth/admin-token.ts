// The admin strategy: a bearer token from the config, or generated once into the data dir.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../http/errors.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';

/** The configured token, or the one kept in <dataDir>/admin-token (created with mode 0600 on first use). */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; source: 'config' | 'file' | 'generated' } {
  if (configured) return { token: configured, source: 'config' };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), source: 'file' };
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { token, source: 'generated' };
}

// Hashing both sides gives equal lengths, so the compare is constant-time whatever is sent.
const digest = (value: string) => createHash('sha256').update(value).digest();

export function verifyAdminToken(request: FastifyRequest, token: string): void {
  const auth = request.headers.authorization;
  if (!auth) throw unauthorized('missing_token', 'admin routes need "Authorization: Bearer <admin token>"');
  const match = /^Bearer\s+(.+)$/i.exec(auth);
  if (!match) throw unauthorized('malformed_token', 'the Authorization header must be "Bearer <admin token>"');
  if (!timingSafeEqual(digest(match[1]!.trim()), digest(token))) throw unauthorized('bad_token', 'the admin token is not valid');
}
