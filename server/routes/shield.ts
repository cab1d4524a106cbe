// The login shield on the admin API: status, raise and lower by hand; and its metrics.
import type { FastifyInstance } from 'fastify';
import { describeZodError } from '../contract/events.ts';
import { ADMIN_AUTH, ADMIN_ERRORS, answer, failure, siteParams } from '../openapi/describe.ts';
import { HttpError } from '../http/errors.ts';
import { scrapedGauge } from '../metrics/prometheus.ts';
import { ShieldError } from '../shield/shield-service.ts';
import { shieldDownResponseSchema, shieldStatusResponseSchema, shieldUpResponseSchema, shieldUpSchema } from '../shield/contract.ts';

const admin = { tags: ['Admin'], security: ADMIN_AUTH };

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

  app.get('/v1/shields', {
    schema: {
      ...admin,
      operationId: 'listShields',
      summary: 'Login shield of every site',
      description: 'Each site with its zone and hostname, whether its login shield is up (since, until, why), and what the detector counts in the current window.',
      response: { 200: answer('Shields', shieldStatusResponseSchema), ...ADMIN_ERRORS },
    },
  }, async () => ({ shields: core.shield.status() }));

  app.post<{ Params: { site: string } }>('/v1/sites/:site/shield', {
    schema: {
      ...admin,
      operationId: 'raiseShield',
      summary: "Raise a site's login shield by hand",
      description: 'Up for `duration` (default `shield.bantime`). A shield already up is extended (200), never shortened.',
      params: siteParams,
      body: shieldUpSchema,
      response: {
        201: answer('Raised', shieldUpResponseSchema),
        200: answer('Was up; extended', shieldUpResponseSchema),
        400: failure('A field is wrong (`invalid_payload`)'),
        404: failure('No such site (`unknown_site`)'),
        409: failure('More than one site has that name (`ambiguous_site`)'),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const parsed = shieldUpSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'invalid_payload', describeZodError(parsed.error));
    const { shield, extended } = guard(() => core.shield.raise(request.params.site, {
      durationSeconds: parsed.data.duration ?? core.config.shield.bantime,
      reason: parsed.data.reason,
      actor: 'admin:api',
    }));
    return reply.code(extended ? 200 : 201).send({ shield, extended });
  });

  app.delete<{ Params: { site: string } }>('/v1/sites/:site/shield', {
    schema: {
      ...admin,
      operationId: 'lowerShield',
      summary: "Lower a site's login shield",
      description: 'The attack window is forgotten: the shield rises again only on a fresh `findtime` worth of attack.',
      params: siteParams,
      response: {
        200: answer('Lowered', shieldDownResponseSchema),
        404: failure('No such site (`unknown_site`), or its shield is not up (`not_up`)'),
        409: failure('More than one site has that name (`ambiguous_site`)'),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request) => ({
    shield: guard(() => core.shield.lower(request.params.site, 'admin:api')),
  }));
}
