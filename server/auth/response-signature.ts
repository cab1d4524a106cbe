// The service signs its answers to signed requests, so an on-path attacker (plain HTTP, a
// broken proxy) can neither forge `decisions` that 403 a site's admin nor hand the plugin
// Cloudflare ranges that make it trust a forged CF-Connecting-IP.
//
// X-EdgeJail-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + request signature hex + "." + body)>
//
// The request's signature (the 64 hex digits after "sha256=") is inside the MAC, so an
// answer holds only for the one request it answers: an old answer replayed to a new
// request fails. Only answers to authenticated requests are signed: a stranger never gets
// a MAC under a site's secret over input they chose.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHmac } from 'node:crypto';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from './site-signature.ts';

export function signAnswer(secret: string, timestamp: string, requestSignatureHex: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.${requestSignatureHex}.`).update(body).digest('hex');
}

/** The hex digits of the request's own X-EdgeJail-Signature (already checked well formed). */
function requestSignatureHex(request: FastifyRequest): string | undefined {
  const value = request.headers[SIGNATURE_HEADER];
  const header = Array.isArray(value) ? value[0] : value;
  return /^sha256=([0-9a-f]{64})$/.exec(header ?? '')?.[1];
}

/** onSend hook for the signed routes; `now` is the service clock in ms. */
export function answerSigner(now: () => number) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const site = request.site;
    const hex = requestSignatureHex(request);
    if (!site || !hex) return payload;
    // Every answer of these routes is JSON text by now; anything else (a stream) goes unsigned and the plugin refuses it.
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const timestamp = String(Math.floor(now() / 1000));
    reply.header(TIMESTAMP_HEADER, timestamp);
    reply.header(SIGNATURE_HEADER, `sha256=${signAnswer(site.secret, timestamp, hex, payload)}`);
    return payload;
  };
}
