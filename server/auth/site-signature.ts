// The webhook's HMAC strategy: a site proves it holds its secret by signing
// "<timestamp>.<raw body>"; the timestamp bounds how long a captured request stays usable.
//
// Checked in two steps. The headers (site id known, timestamp fresh) are checked as soon as
// they arrive, before the request may take an ingest slot or send its body: a stranger who
// trickles a body never holds a slot. The signature needs the whole body and is checked last.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Store, SiteRow } from '../store/store.ts';
import { unauthorized } from '../http/errors.ts';

export const SITE_HEADER = 'x-edgejail-site';
export const TIMESTAMP_HEADER = 'x-edgejail-timestamp';
export const SIGNATURE_HEADER = 'x-edgejail-signature';
const SIGNATURE_RE = /^sha256=([0-9a-f]{64})$/;

// An unknown site id and a wrong signature get the same answer, so the 401 does not tell a
// prober which site ids exist; the log says which it was.
const BAD_CREDENTIALS = 'the site id or the signature is not valid; check EDGEJAIL_SITE_ID and EDGEJAIL_SECRET (rotated?) and that the body is sent unmodified';

declare module 'fastify' {
  interface FastifyRequest {
    /** The site named by the headers, checked before the body was read; not yet authenticated. */
    claimedSite?: SiteRow;
  }
}

export function signBody(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface SignatureOptions {
  nowMs: number;
  maxSkewSeconds: number;
}

/** The site a request claims to come from, once its headers are well formed and its timestamp fresh; throws a 401 otherwise. */
export function checkSiteHeaders(request: FastifyRequest, store: Store, options: SignatureOptions): SiteRow {
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
  if (!SIGNATURE_RE.test(signature)) throw unauthorized('malformed_signature', 'X-EdgeJail-Signature must be "sha256=" followed by 64 lowercase hex digits');
  const site = siteId.length <= 64 ? store.siteById(siteId) : undefined;
  if (!site) {
    request.log.warn({ site: siteId.slice(0, 64) }, 'signed request refused: unknown site id');
    throw unauthorized('bad_signature', BAD_CREDENTIALS);
  }
  return site;
}

/** Returns the authenticated site or throws a 401 naming the check that failed. */
export function verifySiteSignature(request: FastifyRequest, store: Store, options: SignatureOptions): SiteRow {
  const site = request.claimedSite ?? checkSiteHeaders(request, store, options);
  const timestamp = header(request, TIMESTAMP_HEADER)!;
  const expected = Buffer.from(signBody(site.secret, timestamp, request.rawBody ?? ''), 'hex');
  const given = Buffer.from(SIGNATURE_RE.exec(header(request, SIGNATURE_HEADER)!)![1]!, 'hex');
  if (!timingSafeEqual(expected, given)) {
    request.log.warn({ site: site.id }, 'signed request refused: the signature does not match');
    throw unauthorized('bad_signature', BAD_CREDENTIALS);
  }
  return site;
}
