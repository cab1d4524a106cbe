// The admin API: bans, per-IP history, allowlist, sites, status. Bearer-token only.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { allowlistEntrySchema, banListQuerySchema, manualBanSchema } from '../contract/admin.ts';
import { describeZodError } from '../contract/events.ts';
import { formatDuration } from '../config/duration.ts';
import { HttpError } from '../http/errors.ts';
import { ipKeyOf, normaliseIp } from '../jail/ip.ts';
import { ignoreReasonFor } from '../jail/ignore.ts';
import type { BanRow } from '../store/store.ts';

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
    const ip = normaliseIp(param);
    if (ip) return ipKeyOf(ip, core.config.ipv6_prefix);
    if (param.includes('/')) {
      const [address, prefix] = param.split('/');
      const network = normaliseIp(address ?? '');
      if (network && /^\d{1,3}$/.test(prefix ?? '')) return ipKeyOf(network, Number(prefix));
    }
    throw new HttpError(400, 'invalid_ip', `"${param}" is not an IP address or banned prefix`);
  }

  const withEnforcement = (ban: BanRow) => ({ ...ban, cloudflare: app.enforcer.enforcementStateOf(ban.ip_key) });

  app.get('/v1/bans', async (request) => {
    const { state } = parse(banListQuerySchema, request.query, 'invalid_query');
    const rows = state === 'active' ? core.store.activeBans() : core.store.recentBans(1000);
    return { bans: rows.map(withEnforcement) };
  });

  app.post('/v1/bans', async (request, reply) => {
    const input = parse(manualBanSchema, request.body);
    const ip = normaliseIp(input.ip)!;
    const refusal = ignoreReasonFor(ip, core.ignoreLists());
    if (refusal) throw new HttpError(422, 'ip_not_bannable', `${ip} is protected (${refusal}); EdgeJail never bans it`);
    const ipKey = ipKeyOf(ip, core.config.ipv6_prefix);
    const result = core.bans.manualBan({ ipKey, durationSeconds: input.duration, reason: input.reason, actor: 'admin:api' });
    const message =
      result.outcome === 'banned'
        ? `banned ${ipKey} until ${result.ban.expires_at}`
        : result.outcome === 'extended'
          ? `extended the manual ban on ${ipKey} from ${result.previousExpiresAt} until ${result.ban.expires_at}`
          : `${ipKey} is already banned until ${result.ban.expires_at}, longer than the ${formatDuration(input.duration)} asked; the ban and its reason are unchanged`;
    return reply
      .code(result.outcome === 'banned' ? 201 : 200)
      .send({ ban: withEnforcement(result.ban), extended: result.extended, outcome: result.outcome, message });
  });

  app.delete<{ Params: { ip: string } }>('/v1/bans/:ip', async (request) => {
    const ipKey = ipKeyFromParam(request.params.ip);
    const lifted = core.bans.unban(ipKey, 'admin:api');
    if (!lifted.length) throw new HttpError(404, 'not_banned', `${ipKey} has no active ban`);
    return { ip_key: ipKey, lifted: lifted.length, bans: lifted.map((b) => b.id) };
  });

  app.get<{ Params: { ip: string } }>('/v1/ips/:ip', async (request) => {
    const ipKey = ipKeyFromParam(request.params.ip);
    const ban = core.bans.currentBan(ipKey);
    return {
      ip_key: ipKey,
      banned_until: ban ? new Date(ban.expiresAtMs).toISOString() : null,
      cloudflare: app.enforcer.enforcementStateOf(ipKey),
      events: core.store.eventsForIpKey(ipKey),
      bans: core.store.bansForIpKey(ipKey),
      audit: core.store.auditForIpKey(ipKey),
      cloudflare_actions: app.enforcer.actionsFor(ipKey),
    };
  });

  app.get('/v1/allowlist', async () => ({ config: core.config.allowlist, runtime: core.store.listAllowlist() }));
  app.post('/v1/allowlist', async (request, reply) => {
    const entry = parse(allowlistEntrySchema, request.body);
    core.addAllowlist(entry.cidr, entry.note ?? null, 'admin:api');
    return reply.code(201).send({ cidr: entry.cidr });
  });
  app.delete<{ Params: { cidr: string } }>('/v1/allowlist/:cidr', async (request) => {
    if (!core.removeAllowlist(request.params.cidr, 'admin:api')) {
      throw new HttpError(404, 'not_allowlisted', `${request.params.cidr} is not on the runtime allowlist`);
    }
    return { removed: request.params.cidr };
  });

  app.get('/v1/sites', async () => ({ sites: core.store.listSites() }));

  app.get('/v1/status', async () => ({
    bans: Object.fromEntries(core.store.countBansByState().map((r) => [r.state, r.n])),
    events_stored: core.store.countEvents(),
    sites: core.store.listSites().length,
    cloudflare: app.enforcer.status(),
  }));
}
