// GET /v1/cloudflare-ranges: lets the plugin refresh which proxies may set CF-Connecting-IP.
// The answer is signed: a forged list would make the plugin trust anyone's CF-Connecting-IP.
import type { FastifyInstance } from 'fastify';
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from '../jail/never-ban.ts';
import { answerSigner } from '../auth/response-signature.ts';

export async function siteConfigRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', answerSigner(app.core.now));
  app.get('/v1/cloudflare-ranges', { preHandler: app.auth([app.verifySite]) }, async () => ({
    ipv4: CLOUDFLARE_IPV4,
    ipv6: CLOUDFLARE_IPV6,
  }));
}
