// The webhook's HMAC strategy: a site proves it holds its secret by signing
// "<timestamp>.<raw body>"; the timestamp bounds how long a captured request stays usable.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Store, SiteRow } from '../store/store.ts';
import { unauthorized } from '../http/errors.ts';

export const SITE_HEADER = 'x-edgejail-site';
export const TIMESTAMP_HEADER = 'x-edgejail-timestamp';
export const SIGNATURE_HEADER = 'x-edgejail-signature';
const SIGNATURE_RE = /^sha256=([0-9a-f]{64})$/;

export function signBody(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Returns the authenticated site or throws a 401 naming the check that failed. */
export function verifySiteSignature(
  request: FastifyRequest,
  store: Store,
  options: { nowMs: number; maxSkewSeconds: number },
): SiteRow {
  const siteId = header(request, SITE_HEADER);
  const timestamp = header(request, TIMESTAMP_HEADER);
  const signature = header(request, SIGNATURE_HEADER);
  if (!siteId) throw unauthorized('missing_site', 'the X-EdgeJail-Site header is missing');
  if (!timestamp) throw unauthorized('missing_timestamp', 'the X-EdgeJail-Timestamp header is missing');
  if (!signature) throw unauthorized('missing_signature', 'the X-EdgeJail-Signature header is missing');
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized('bad_timestamp', 'X-EdgeJail-Timestamp must be unix seconds');
  const skew = Math.abs(options.nowMs / 1000 - Number(timestamp));
  if (skew > options.maxSkewSeconds) {
    throw unauthorized('stale_timestamp', `X-EdgeJail-Timestamp is ${Math.round(skew)} s from the service's clock (allowed: ${options.maxSkewSeconds} s); check the site's clock`);
  }
  const match = SIGNATURE_RE.exec(signature);
  if (!match) throw unauthorized('malformed_signature', 'X-EdgeJail-Signature must be "sha256=" followed by 64 lowercase hex digits');
  const site = siteId.length <= 64 ? store.siteById(siteId) : undefined;
  if (!site) throw unauthorized('unknown_site', 'no site has this X-EdgeJail-Site id');
  const expected = Buffer.from(signBody(site.secret, timestamp, request.rawBody ?? ''), 'hex');
  const given = Buffer.from(match[1]!, 'hex');
  if (!timingSafeEqual(expected, given)) {
    throw unauthorized('bad_signature', 'the signature does not match the body; check the site secret (rotated?) and that the body is sent unmodified');
  }
  return site;
}
