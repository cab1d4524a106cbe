// The login shield on the admin API: status, raise and lower by hand; and its metrics.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { RouteDoc, ResponseDoc } from '../openapi/routes.ts';
import { describeZodError, errorResponseSchema } from '../contract/events.ts';
import { HttpError } from '../http/errors.ts';
import { scrapedGauge } from '../metrics/prometheus.ts';
import { ShieldError } from '../shield/shield-service.ts';
import { shieldDownResponseSchema, shieldStatusResponseSchema, shieldUpResponseSchema, shieldUpSchema } from '../shield/contract.ts';

const STATUS: Record<ShieldError['code'], number> = { unknown_site: 404, ambiguous_site: 409, not_up: 404 };

export async function shieldRoutes(app: FastifyInstance): Promise<void> {
  const { core, metrics } = app;
  app.addHook('preHandler', app.auth([app.verifyAdmin]));

  scrapedGauge(metrics, { name: 'edgejail_shield_active', help: "1 while a site's login shield is up", labelNames: ['site'] }, () =>
    core.shield.gauges().map((g) => ({ labels: { site: g.siteId }, value: g.active })));
  scrapedGauge(
    metrics,
    { name: 'edgejail_shield_failures_per_minute', help: "Failed logins per minute at each site over the shield's findtime window (the attack rate)", labelNames: ['site'] },
    () => core.shield.gauges().map((g) => ({ labels: { site: g.siteId }, value: Math.round(g.failuresPerMinute * 100) / 100 })),
  );

  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ShieldError) throw new HttpError(STATUS[error.code], error.code, error.message);
      throw error;
    }
  };

  app.get('/v1/shields', async () => ({ shields: core.shield.status() }));

  app.post<{ Params: { site: string } }>('/v1/sites/:site/shield', async (request, reply) => {
    const parsed = shieldUpSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'invalid_payload', describeZodError(parsed.error));
    const { shield, extended } = guard(() => core.shield.raise(request.params.site, {
      durationSeconds: parsed.data.duration ?? core.config.shield.bantime,
      reason: parsed.data.reason,
      actor: 'admin:api',
    }));
    return reply.code(extended ? 200 : 201).send({ shield, extended });
  });

  app.delete<{ Params: { site: string } }>('/v1/sites/:site/shield', async (request) => ({
    shield: guard(() => core.shield.lower(request.params.site, 'admin:api')),
  }));
}

const error = (description: string): ResponseDoc => ({ description, schema: errorResponseSchema });
const ADMIN_ERRORS = { 401: error('Missing or wrong admin token (`missing_token`, `malformed_token`, `bad_token`)') };
const SITE_PARAM = { site: 'The site id, or its name when no other site has it' };

export const SHIELD_RESPONSE_COMPONENTS: Array<[string, z.ZodType]> = [
  ['ShieldStatus', shieldStatusResponseSchema],
  ['ShieldUpResponse', shieldUpResponseSchema],
  ['ShieldDownResponse', shieldDownResponseSchema],
];
export const SHIELD_REQUEST_COMPONENTS: Array<[string, z.ZodType]> = [['ShieldUpRequest', shieldUpSchema]];

export const SHIELD_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'GET',
    path: '/v1/shields',
    operationId: 'listShields',
    tag: 'Admin',
    auth: 'admin',
    summary: 'Login shield of every site',
    description: 'Each site with its zone and hostname, whether its login shield is up (since, until, why), and what the detector counts in the current window.',
    responses: { 200: { description: 'Shields', schema: shieldStatusResponseSchema }, ...ADMIN_ERRORS },
  },
  {
    method: 'POST',
    path: '/v1/sites/:site/shield',
    operationId: 'raiseShield',
    tag: 'Admin',
    auth: 'admin',
    summary: "Raise a site's login shield by hand",
    description: 'Up for `duration` (default `shield.bantime`). A shield already up is extended (200), never shortened.',
    params: SITE_PARAM,
    body: shieldUpSchema,
    responses: {
      201: { description: 'Raised', schema: shieldUpResponseSchema },
      200: { description: 'Was up; extended', schema: shieldUpResponseSchema },
      400: error('A field is wrong (`invalid_payload`)'),
      404: error('No such site (`unknown_site`)'),
      409: error('More than one site has that name (`ambiguous_site`)'),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: 'DELETE',
    path: '/v1/sites/:site/shield',
    operationId: 'lowerShield',
    tag: 'Admin',
    auth: 'admin',
    summary: "Lower a site's login shield",
    description: 'The attack window is forgotten: the shield rises again only on a fresh `findtime` worth of attack.',
    params: SITE_PARAM,
    responses: {
      200: { description: 'Lowered', schema: shieldDownResponseSchema },
      404: error('No such site (`unknown_site`), or its shield is not up (`not_up`)'),
      409: error('More than one site has that name (`ambiguous_site`)'),
      ...ADMIN_ERRORS,
    },
  },
];
