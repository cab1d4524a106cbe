// GET /v1/cloudflare-ranges: lets the plugin refresh which proxies may set CF-Connecting-IP.
// The answer is signed: a forged list would make the plugin trust anyone's CF-Connecting-IP.
import type { FastifyInstance } from 'fastify';
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from '../jail/never-ban.ts';
import { answerSigner } from '../auth/response-signature.ts';
import { cloudflareRangesResponseSchema } from '../contract/responses.ts';
import { answer, failure, SITE_AUTH } from '../openapi/describe.ts';

const RANGES_SCHEMA = {
  operationId: 'getCloudflareRanges',
  tags: ['Webhook'],
  security: SITE_AUTH,
  summary: "Cloudflare's proxy ranges",
  description: 'The ranges whose CF-Connecting-IP header the plugin may trust. Signed like /v1/events, over an empty body.',
  response: { 200: answer('IPv4 and IPv6 ranges', cloudflareRangesResponseSchema), 401: failure('Signature checks failed') },
};

export async function siteConfigRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', answerSigner(app.core.now));
  app.get('/v1/cloudflare-ranges', { schema: RANGES_SCHEMA, preHandler: app.auth([app.verifySite]) }, async () => ({
    ipv4: CLOUDFLARE_IPV4,
    ipv6: CLOUDFLARE_IPV6,
  }));
}
