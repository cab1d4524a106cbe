// The admin API: bans, per-IP history, allowlist, sites, status. Bearer-token only.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { allowlistEntrySchema, banListQuerySchema, manualBanSchema, unbanQuerySchema } from '../contract/admin.ts';
import { describeZodError } from '../contract/events.ts';
import { formatDuration } from '../config/duration.ts';
import { HttpError } from '../http/errors.ts';
import { AllowlistEntryError } from '../jail/allowlist-entry.ts';
import type { BanRow } from '../store/store.ts';
import * as R from '../contract/responses.ts';
import { ADMIN_AUTH, ADMIN_ERRORS, answer, cidrParams, failure, ipParams } from '../openapi/describe.ts';

/** What every admin route's document entry shares; the handlers parse with the zod schemas named in each. */
const admin = { tags: ['Admin'], security: ADMIN_AUTH };

function parse<T extends z.ZodType>(schema: T, value: unknown, code = 'invalid_payload'): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new HttpError(400, code, describeZodError(result.error));
  return result.data;
}

export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { core } = app;
  app.addHook('preHandler', app.auth([app.verifyAdmin]));

  /** Accepts an IP (banned by its ip_key) or an ip_key itself, e.g. an IPv6 /64. */
  function ipKeyFromParam(param: string): string {
    const ipKey = core.ipKeyFromInput(param);
    if (ipKey === null) throw new HttpError(400, 'invalid_ip', `"${param.slice(0, 100)}" is not an IP address or banned prefix`);
    return ipKey;
  }

  const withEnforcement = (ban: BanRow) => ({
    ...ban,
    cloudflare: app.enforcer.enforcementStateOf(ban.ip_key),
    placement: ban.state === 'active' ? app.enforcer.placementOf(ban.ip_key) : null,
  });

  app.get('/v1/bans', {
    schema: {
      ...admin,
      operationId: 'listBans',
      summary: 'List bans',
      description: 'Active bans (default) or the latest 1,000 of all, each with its state at Cloudflare.',
      querystring: banListQuerySchema,
      response: { 200: answer('Bans', R.banListResponseSchema), 400: failure('Bad query (`invalid_query`)'), ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const { state } = parse(banListQuerySchema, request.query, 'invalid_query');
    const rows = state === 'active' ? core.store.activeBans() : core.store.recentBans(1000);
    return { bans: rows.map(withEnforcement) };
  });

  app.post('/v1/bans', {
    schema: {
      ...admin,
      operationId: 'banIp',
      summary: 'Ban an IP by hand',
      description: 'An IP that already has a manual ban gets it extended (200) instead of a second one.',
      body: manualBanSchema,
      response: {
        201: answer('Banned', R.manualBanResponseSchema),
        200: answer('The existing manual ban was extended, or already reaches further (outcome already_longer: left as it was)', R.manualBanResponseSchema),
        400: failure('A field is wrong (`invalid_payload`)'),
        409: failure('banned_at + duration is already past: nothing to enforce (`ban_already_ended`)'),
        422: failure('The address is protected: allowlisted, loopback, private or Cloudflare (`ip_not_bannable`)'),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const input = parse(manualBanSchema, request.body);
    const { ip, ipKey, protectedBy } = core.judgeAddress(input.ip)!;
    if (protectedBy) throw new HttpError(422, 'ip_not_bannable', `${ip} is protected (${protectedBy}); EdgeJail never bans it`);
    const durationSeconds = input.duration ?? core.config.manual_ban_duration;
    // A ban fail2ban decided is audited as that jail's, and kept apart from the admin's manual ban.
    const result = core.bans.manualBan({
      ipKey,
      durationSeconds,
      reason: input.reason,
      actor: input.jail ?? 'admin:api',
      jail: input.jail,
      // Whole seconds, as fail2ban's database keeps them: its re-ban on start then ends at the same instant.
      startedAtMs: input.banned_at === undefined ? undefined : Math.round(input.banned_at) * 1000,
      banCount: input.ban_count,
    });
    const message =
      result.outcome === 'banned'
        ? `banned ${ipKey} until ${result.ban.expires_at}`
        : result.outcome === 'extended'
          ? `extended the manual ban on ${ipKey} from ${result.previousExpiresAt} until ${result.ban.expires_at}`
          : `${ipKey} is already banned until ${result.ban.expires_at}, longer than the ${formatDuration(durationSeconds)} asked; the ban and its reason are unchanged`;
    return reply
      .code(result.outcome === 'banned' ? 201 : 200)
      .send({ ban: withEnforcement(result.ban), extended: result.extended, outcome: result.outcome, message });
  });

  app.delete<{ Params: { ip: string } }>('/v1/bans/:ip', {
    schema: {
      ...admin,
      operationId: 'unbanIp',
      summary: 'Lift every active ban on an IP',
      description: "With `jail=fail2ban:<name>`, only the bans of that jail: the other jails' bans on the IP stay.",
      params: ipParams,
      querystring: unbanQuerySchema,
      response: {
        200: answer('Lifted', R.unbanResponseSchema),
        400: failure('Not an IP address or prefix (`invalid_ip`), or a bad jail (`invalid_query`)'),
        404: failure('No active ban (`not_banned`)'),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request) => {
    const ipKey = ipKeyFromParam(request.params.ip);
    const { jail } = parse(unbanQuerySchema, request.query, 'invalid_query');
    const lifted = core.bans.unban(ipKey, jail ?? 'admin:api', jail);
    if (!lifted.length) throw new HttpError(404, 'not_banned', `${ipKey} has no active ban${jail ? ` from ${jail}` : ''}`);
    return { ip_key: ipKey, lifted: lifted.length, bans: lifted.map((b) => b.id) };
  });

  app.get<{ Params: { ip: string } }>('/v1/ips/:ip', {
    schema: {
      ...admin,
      operationId: 'ipHistory',
      summary: "An IP's whole history",
      description: 'The newest stored events (`events_stored` says how many there are), and every ban, audit entry and Cloudflare call, for the IP (or its IPv6 prefix).',
      params: ipParams,
      response: { 200: answer('History', R.ipHistoryResponseSchema), 400: failure('Not an IP address or prefix (`invalid_ip`)'), ...ADMIN_ERRORS },
    },
  }, async (request) => {
    const ipKey = ipKeyFromParam(request.params.ip);
    const ban = core.bans.currentBan(ipKey);
    return {
      ip_key: ipKey,
      banned_until: ban ? new Date(ban.expiresAtMs).toISOString() : null,
      cloudflare: app.enforcer.enforcementStateOf(ipKey),
      events: core.store.eventsForIpKey(ipKey),
      events_stored: core.store.eventCountOfIpKey(ipKey),
      bans: core.store.bansForIpKey(ipKey),
      audit: core.store.auditForIpKey(ipKey),
      cloudflare_actions: app.enforcer.actionsFor(ipKey),
    };
  });

  app.get('/v1/allowlist', {
    schema: {
      ...admin,
      operationId: 'getAllowlist',
      summary: 'The allowlist',
      response: { 200: answer('Config and runtime entries', R.allowlistResponseSchema), ...ADMIN_ERRORS },
    },
  }, async () => core.allowlistEntries());
  app.post('/v1/allowlist', {
    schema: {
      ...admin,
      operationId: 'addAllowlist',
      summary: 'Allowlist an address or range',
      description:
        'Allowlisted addresses are stored but never counted or banned. Every active ban the entry covers, or that covers part of it (an IPv6 /64 holding an allowlisted address), is lifted, at Cloudflare too. `0.0.0.0/0` and `::/0` need `force: true`.',
      body: allowlistEntrySchema,
      response: {
        201: answer('Added', R.allowlistAddResponseSchema),
        400: failure('Not an address or CIDR (`invalid_payload`)'),
        422: failure('Every address of a family, without `force` (`allowlist_too_wide`)'),
        ...ADMIN_ERRORS,
      },
    },
  }, async (request, reply) => {
    const entry = parse(allowlistEntrySchema, request.body);
    try {
      const { cidr, lifted } = core.addAllowlist(entry.cidr, entry.note ?? null, 'admin:api', { force: entry.force });
      return reply.code(201).send({ cidr, lifted: lifted.length, lifted_ip_keys: [...new Set(lifted.map((b) => b.ip_key))] });
    } catch (error) {
      if (error instanceof AllowlistEntryError) {
        throw new HttpError(error.code === 'invalid_cidr' ? 400 : 422, error.code, `${error.message}${error.code === 'allowlist_too_wide' ? ' Send "force": true if that is really meant.' : ''}`);
      }
      throw error;
    }
  });
  app.delete<{ Params: { cidr: string } }>('/v1/allowlist/:cidr', {
    schema: {
      ...admin,
      operationId: 'removeAllowlist',
      summary: 'Remove a runtime allowlist entry',
      params: cidrParams,
      response: { 200: answer('Removed', R.allowlistRemoveResponseSchema), 404: failure('Not on the runtime allowlist (`not_allowlisted`)'), ...ADMIN_ERRORS },
    },
  }, async (request) => {
    if (!core.removeAllowlist(request.params.cidr, 'admin:api')) {
      throw new HttpError(404, 'not_allowlisted', `${request.params.cidr.slice(0, 100)} is not on the runtime allowlist`);
    }
    return { removed: request.params.cidr };
  });

  app.get('/v1/sites', {
    schema: {
      ...admin,
      operationId: 'listSites',
      summary: 'List sites',
      description: 'Never includes a secret. Sites are added with `edgejail site add`.',
      response: { 200: answer('Sites', R.sitesResponseSchema), ...ADMIN_ERRORS },
    },
  }, async () => ({ sites: core.store.listSites().map(core.shield.withZone) }));

  app.get('/v1/status', {
    schema: {
      ...admin,
      operationId: 'status',
      summary: 'Service status',
      response: { 200: answer('Counts and the Cloudflare enforcer status', R.statusResponseSchema), ...ADMIN_ERRORS },
    },
  }, async () => ({
    bans: Object.fromEntries(core.store.countBansByState().map((r) => [r.state, r.n])),
    events_stored: core.store.countEvents(),
    sites: core.store.listSites().length,
    cloudflare: app.enforcer.status(),
  }));
}
