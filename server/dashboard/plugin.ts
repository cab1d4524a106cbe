// GET /dashboard and its forms: admin sign-in with the admin token into an in-memory
// session (HttpOnly, SameSite=Strict cookie), a CSRF token on every form, a strict CSP
// (those three in security.ts), and every action through the core so it lands in the
// audit log as admin:dashboard.
// Registered with the prefix /dashboard; everything here is scoped to it.
import { ShieldError } from '../shield/shield-service.ts';
import { readFileSync } from 'node:fs';
import { projectPath } from '../paths.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { allowlistEntrySchema, manualBanSchema } from '../contract/admin.ts';
import { describeZodError } from '../contract/events.ts';
import { formatDuration } from '../config/duration.ts';
import { HttpError } from '../http/errors.ts';
import { AllowlistEntryError } from '../jail/allowlist-entry.ts';
import { parseCidr } from '../jail/ip.ts';
import {
  allowlistFormMetaSchema,
  allowlistRemoveFormSchema,
  banFormMetaSchema,
  extendFormSchema,
  loginFormSchema,
  parseFormBody,
  unbanFormSchema,
  shieldLowerFormSchema,
  withoutBlanks,
} from './forms.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { overviewData, WINDOW_MS } from './overview-data.ts';
import { describeCloudflare } from './cloudflare-state.ts';
import { protectionOf } from './protection.ts';
import { clearSessionCookie, csrfToken, isCsrfRefusal, registerDashboardSecurity, sessionCookieOf, setSessionCookie } from './security.ts';
import { createSessionStore, DEFAULT_SESSION_LIMITS, type Flash, type Session } from './sessions.ts';
import { IP_PAGE_LIMITS, ipPage } from './views/ip.ts';
import { loginPage } from './views/login.ts';
import { messagePage } from './views/message.ts';
import { overviewPage } from './views/overview.ts';

export const DASHBOARD_ACTOR = 'admin:dashboard';
const WRONG_TOKEN = 'That is not the admin token.';

const ASSETS: Record<string, { type: string; body: string }> = {
  'style.css': { type: 'text/css; charset=utf-8', body: readFileSync(projectPath('server/dashboard/assets/style.css'), 'utf8') },
  'live.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(projectPath('server/dashboard/assets/live.js'), 'utf8') },
};

declare module 'fastify' {
  interface FastifyRequest {
    dashboardSession?: Session | null;
  }
}

type Back = 'overview' | 'ip';

function parseForm<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, 'invalid_form', describeZodError(result.error));
  return result.data;
}

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const { core } = app;
  const queries = app.aggregates;
  const sessions = createSessionStore(core.now, DEFAULT_SESSION_LIMITS);
  const throttle = createLoginThrottle(core.now);
  const sessionMaxAge = Math.floor(DEFAULT_SESSION_LIMITS.absoluteMs / 1000);

  app.decorateRequest('dashboardSession', null);
  await registerDashboardSecurity(app, (request) => request.dashboardSession?.id);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) =>
    done(null, parseFormBody(body as string)),
  );

  const sendHtml = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);

  /** The signed-in pages' CSRF token (their layout shows the signed-in navigation); none for a visitor. */
  const sessionCsrf = (request: FastifyRequest, reply: FastifyReply) =>
    request.dashboardSession ? csrfToken(request, reply, request.dashboardSession.id) : undefined;

  app.setErrorHandler((raw: Error & { statusCode?: number; code?: string }, request, reply) => {
    const error = isCsrfRefusal(raw) ? csrfRefused(request) : raw;
    const csrf = sessionCsrf(request, reply);
    if (error instanceof HttpError) {
      return sendHtml(reply.headers(error.headers), error.statusCode, messagePage({ title: titleFor(error.statusCode), text: error.message, csrf }));
    }
    const status = error.statusCode ?? 500;
    if (status < 500) return sendHtml(reply, status, messagePage({ title: titleFor(status), text: error.message, csrf }));
    request.log.error({ err: error }, 'dashboard request failed');
    return sendHtml(reply, 500, messagePage({ title: 'Something broke', text: 'The dashboard failed to handle this request; the service log has the details.', csrf }));
  });
  app.setNotFoundHandler((request, reply) =>
    sendHtml(reply, 404, messagePage({ title: 'Not found', text: `There is no dashboard page at ${request.url.split('?')[0]}.`, csrf: sessionCsrf(request, reply) })),
  );

  /** Signed-in pages: no session means the sign-in page for a GET, a plain 401 for a form post. */
  async function requireSession(request: FastifyRequest, reply: FastifyReply) {
    const session = sessions.get(sessionCookieOf(request));
    if (!session) {
      if (request.method === 'GET' || request.method === 'HEAD') return reply.redirect('/dashboard/login', 303);
      return sendHtml(reply, 401, messagePage({ title: 'Signed out', text: 'Your session has ended; sign in again and repeat the action.', link: { href: '/dashboard/login', text: 'Sign in' } }));
    }
    request.dashboardSession = session;
  }

  // Every state change carries a CSRF token of its session in a hidden field (checked after the session).
  const signedIn = { preHandler: requireSession };
  const action = { preHandler: [requireSession, app.csrfProtection] };

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const asset = ASSETS[request.params.file];
    if (!asset) throw new HttpError(404, 'not_found', 'No such asset.');
    return reply.type(asset.type).header('cache-control', 'public, max-age=300').send(asset.body);
  });

  // ---- sign in / out ----

  app.get('/login', async (request, reply) => {
    if (sessions.get(sessionCookieOf(request))) return reply.redirect('/dashboard', 303);
    const q = request.query as Record<string, unknown>;
    return sendHtml(reply, 200, loginPage({ csrf: csrfToken(request, reply, undefined), loggedOut: q.bye === '1', error: q.refused === 'token' ? WRONG_TOKEN : undefined }));
  });

  app.post('/login', { preHandler: app.csrfProtection }, async (request, reply) => {
    const form = parseForm(loginFormSchema, request.body ?? {});
    // The token is checked first: a correct one always signs in, so wrong guesses from
    // anyone else (keyed per client, see trusted_proxies) can never lock the admin out.
    if (!(await isAdminToken(form.token))) {
      const retryAfter = throttle.retryAfterSeconds(request.ip);
      if (retryAfter > 0) {
        throw new HttpError(429, 'too_many_logins', `Too many wrong tokens; try again in ${retryAfter} s.`, { 'retry-after': String(retryAfter) });
      }
      throttle.fail(request.ip);
      request.log.info('dashboard sign-in refused: wrong admin token');
      // Post/Redirect/Get: reloading the refusal must not send the wrong token (and a failure) again.
      return reply.redirect('/dashboard/login?refused=token', 303);
    }
    const session = sessions.create();
    setSessionCookie(request, reply, session.id, sessionMaxAge);
    return reply.redirect('/dashboard', 303);
  });

  app.post('/logout', action, async (request, reply) => {
    sessions.destroy(request.dashboardSession!.id);
    clearSessionCookie(request, reply);
    return reply.redirect('/dashboard/login?bye=1', 303);
  });

  // ---- pages ----

  async function renderOverview(request: FastifyRequest, reply: FastifyReply) {
    const session = request.dashboardSession!;
    const q = request.query as Record<string, unknown>;
    const filter = typeof q.q === 'string' ? q.q.slice(0, 100) : '';
    const flash = takeFlash(session);
    const data = await overviewData(app, queries, core.now(), filter);
    return sendHtml(reply, 200, overviewPage(data, { csrf: csrfToken(request, reply, session.id), live: q.live === '1', flash }));
  }

  async function renderIp(request: FastifyRequest, reply: FastifyReply, ipKey: string, searched: string) {
    const session = request.dashboardSession!;
    const nowMs = core.now();
    const [detail] = await queries.enforcementDetail([ipKey]);
    // A network wider than one key (an IPv4 range, an IPv6 prefix shorter than ipv6_prefix):
    // the addresses and narrower keys inside it that attacked.
    const network = ipKey.includes('/') ? parseCidr(ipKey) : null;
    const wider = network !== null && (network.family === 4 ? network.prefix < 32 : network.prefix < core.config.ipv6_prefix);
    const inside = wider
      ? (await queries.keysInNetwork(ipKey, new Date(nowMs - WINDOW_MS).toISOString(), IP_PAGE_LIMITS.keysInNetwork))
          .filter((k) => k.ip_key !== ipKey)
          .map((k) => ({ ...k, banned: core.bans.currentBan(k.ip_key, nowMs) !== null }))
      : null;
    const state = app.enforcer.enforcementStateOf(ipKey);
    const html = ipPage(
      {
        nowMs,
        ipKey,
        searched: searched.trim() !== ipKey ? searched.trim() : null,
        banAddress: ipKey.split('/')[0]!,
        currentBan: core.bans.currentBan(ipKey, nowMs),
        cloudflare: state === null ? null : describeCloudflare(state, detail, nowMs),
        protection: protectionOf(core, ipKey),
        inside,
        defaultBanDuration: formatDuration(core.config.manual_ban_duration),
        events: core.store.eventsForIpKey(ipKey, IP_PAGE_LIMITS.events),
        eventsStored: core.store.eventCountOfIpKey(ipKey),
        bans: core.store.bansForIpKey(ipKey, IP_PAGE_LIMITS.bans),
        audit: core.store.auditForIpKey(ipKey, IP_PAGE_LIMITS.audit),
        cloudflareActions: app.enforcer.actionsFor(ipKey, IP_PAGE_LIMITS.cloudflareActions),
        siteNames: new Map(core.store.listSites().map((s) => [s.id, s.name])),
      },
      { csrf: csrfToken(request, reply, session.id), flash: takeFlash(session) },
    );
    return sendHtml(reply, 200, html);
  }

  app.get('/', signedIn, async (request, reply) => renderOverview(request, reply));

  // `key` is what the pages link with; `ip` is what a person (or the search box) types.
  app.get('/ip', signedIn, async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const given = [q.key, q.ip].find((v): v is string => typeof v === 'string' && v.trim() !== '');
    if (given === undefined) throw new HttpError(400, 'invalid_ip', 'Type an IP address or prefix to look up, e.g. 203.0.113.7 or 2001:db8::/64.');
    return renderIp(request, reply, ipKeyFromInput(given), given);
  });

  // ---- actions: Post/Redirect/Get, for refusals too: a reload never re-posts a form ----

  /** The fields a refused form gets back (never its CSRF token), bounded like the form itself. */
  const FORM_FIELDS = { ban: ['ip', 'duration', 'reason'], allowlist: ['cidr', 'note'] } as const;

  /** Runs an action, keeps its outcome (or why it was refused) in the session and redirects to the page the form came from. */
  function act(
    formName: keyof typeof FORM_FIELDS | null,
    back: (request: FastifyRequest) => { to: Back; ipKey?: string },
    run: (request: FastifyRequest) => { text: string; ipKey?: string },
  ) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const target = back(request);
      const session = request.dashboardSession!;
      let ipKey = target.ipKey;
      try {
        const done = run(request);
        session.flash = { kind: 'ok', text: done.text };
        ipKey = done.ipKey ?? target.ipKey;
      } catch (error) {
        if (!(error instanceof HttpError) || error.statusCode >= 500) throw error;
        const sent = body(request);
        const values = formName
          ? Object.fromEntries(FORM_FIELDS[formName].filter((f) => typeof sent[f] === 'string').map((f) => [f, sent[f]!.slice(0, 500)]))
          : null;
        session.flash = { kind: 'error', text: error.message, ...(formName && values ? { form: { name: formName, values } } : {}) };
        request.log.info({ code: error.code, status: error.statusCode }, 'dashboard action refused');
      }
      return reply.redirect(target.to === 'ip' && ipKey ? `/dashboard/ip?key=${encodeURIComponent(ipKey)}` : '/dashboard', 303);
    };
  }
  const body = (request: FastifyRequest) => (request.body ?? {}) as Record<string, string>;
  /** Where a form returns to; an unreadable ip_key sends it back to the overview. */
  const backOf = (request: FastifyRequest) => {
    const b = body(request);
    const to: Back = b.back === 'ip' ? 'ip' : 'overview';
    const raw = b.ip_key ?? b.ip ?? b.cidr ?? '';
    let ipKey: string | undefined;
    try {
      ipKey = raw ? ipKeyFromInput(raw) : undefined;
    } catch {
      ipKey = undefined;
    }
    return { to, ipKey };
  };
  app.post('/bans/unban', action, act(null, backOf, (request) => {
    const form = parseForm(unbanFormSchema, body(request));
    const ipKey = ipKeyFromInput(form.ip_key);
    const lifted = core.bans.unban(ipKey, DASHBOARD_ACTOR);
    if (!lifted.length) throw new HttpError(404, 'not_banned', `${ipKey} has no active ban.`);
    return { text: `Unbanned ${ipKey} (${lifted.length} ban${lifted.length === 1 ? '' : 's'} lifted).`, ipKey };
  }));

  // The same path as `edgejail shield down` and DELETE /v1/shields/:site: the shield service lowers it.
  app.post('/shield/lower', action, act(null, () => ({ to: 'overview' }), (request) => {
    const form = parseForm(shieldLowerFormSchema, body(request));
    try {
      const row = core.shield.lower(form.site, DASHBOARD_ACTOR);
      return { text: `Lowered the login shield of ${core.store.siteById(row.site_id)?.name ?? row.site_id}.` };
    } catch (error) {
      if (error instanceof ShieldError) throw new HttpError(error.code === 'ambiguous_site' ? 409 : 404, error.code, error.message);
      throw error;
    }
  }));

  app.post('/bans/extend', action, act(null, backOf, (request) => {
    const form = parseForm(extendFormSchema, body(request));
    const ipKey = ipKeyFromInput(form.ip_key);
    const nowMs = core.now();
    const current = core.bans.currentBan(ipKey, nowMs);
    if (!current) throw new HttpError(404, 'not_banned', `${ipKey} has no active ban to extend.`);
    const until = current.expiresAtMs + form.by * 1000;
    // A manual ban reaching the new expiry; the enforcer blocks until the furthest ban ends.
    core.bans.manualBan({
      ipKey,
      durationSeconds: Math.ceil((until - nowMs) / 1000),
      reason: `extended by ${formatDuration(form.by)} from the dashboard`,
      actor: DASHBOARD_ACTOR,
    });
    return { text: `Extended the ban on ${ipKey} by ${formatDuration(form.by)}, to ${new Date(until).toISOString().slice(0, 16).replace('T', ' ')} UTC.`, ipKey };
  }));

  app.post('/bans', action, act('ban', backOf, (request) => {
    const b = body(request);
    parseForm(banFormMetaSchema, b);
    const input = parseForm(manualBanSchema, withoutBlanks({ ip: b.ip, duration: b.duration, reason: b.reason }));
    const verdict = core.judgeAddress(input.ip);
    if (!verdict) throw new HttpError(400, 'invalid_ip', `"${input.ip}" is not an IP address EdgeJail can ban.`);
    const { ip, ipKey, protectedBy } = verdict;
    if (protectedBy) throw new HttpError(422, 'ip_not_bannable', `${ip} is protected (${protectedBy}); EdgeJail never bans it.`);
    const duration = input.duration ?? core.config.manual_ban_duration;
    const { extended } = core.bans.manualBan({ ipKey, durationSeconds: duration, reason: input.reason, actor: DASHBOARD_ACTOR });
    return { text: `${extended ? 'Extended the manual ban on' : 'Banned'} ${ipKey} for ${formatDuration(duration)}.`, ipKey };
  }));

  app.post('/allowlist', action, act('allowlist', backOf, (request) => {
    const b = body(request);
    parseForm(allowlistFormMetaSchema, b);
    const entry = parseForm(allowlistEntrySchema, { cidr: (b.cidr ?? '').trim(), note: b.note?.trim() || null });
    let added: ReturnType<typeof core.addAllowlist>;
    try {
      added = core.addAllowlist(entry.cidr, entry.note ?? null, DASHBOARD_ACTOR);
    } catch (error) {
      if (error instanceof AllowlistEntryError) throw new HttpError(422, error.code, `${error.message}${error.code === 'allowlist_too_wide' ? ' The dashboard never does that; the CLI (--force) and the API ("force": true) can.' : ''}`);
      throw error;
    }
    const liftedKeys = [...new Set(added.lifted.map((ban) => ban.ip_key))];
    let text = `Allowlisted ${added.cidr}: never counted, never banned.`;
    if (liftedKeys.length) {
      const shown = liftedKeys.slice(0, 5).join(', ') + (liftedKeys.length > 5 ? `, and ${liftedKeys.length - 5} more` : '');
      text += ` Lifted ${added.lifted.length} ban${added.lifted.length === 1 ? '' : 's'} on ${shown}.`;
    }
    return { text, ipKey: liftedKeys.length === 1 ? liftedKeys[0] : undefined };
  }));

  app.post('/allowlist/remove', action, act(null, () => ({ to: 'overview' }), (request) => {
    const form = parseForm(allowlistRemoveFormSchema, body(request));
    if (!core.removeAllowlist(form.cidr, DASHBOARD_ACTOR)) throw new HttpError(404, 'not_allowlisted', `${form.cidr} is not on the runtime allowlist.`);
    return { text: `Removed ${form.cidr} from the allowlist: its addresses are counted again.` };
  }));

  /** The admin API's own check (constant-time), so the dashboard never holds the token itself. */
  async function isAdminToken(token: string): Promise<boolean> {
    if (!token) return false;
    try {
      await app.verifyAdmin({ headers: { authorization: `Bearer ${token}` } } as FastifyRequest);
      return true;
    } catch (error) {
      if (error instanceof HttpError && error.statusCode === 401) return false;
      throw error;
    }
  }

  function takeFlash(session: Session): Flash | null {
    const flash = session.flash ?? null;
    delete session.flash;
    return flash;
  }

  /** An IP address (keyed as the jails key it) or a network key such as 2001:db8::/64. */
  function ipKeyFromInput(text: string): string {
    const ipKey = core.ipKeyFromInput(text);
    if (ipKey === null) throw new HttpError(400, 'invalid_ip', `"${text.trim().slice(0, 100)}" is not an IP address or network (e.g. 203.0.113.7, 198.51.100.0/24, 2001:db8::/64).`);
    return ipKey;
  }
}

/** What a refused CSRF check tells the person: the sign-in form and the signed-in forms fail for different reasons. */
function csrfRefused(request: FastifyRequest): HttpError {
  return request.dashboardSession
    ? new HttpError(403, 'csrf', 'This form did not come from this dashboard session (or the page is too old). Reload the page and try again.')
    : new HttpError(403, 'csrf', 'The sign-in form has expired or did not come from this dashboard. Open the sign-in page again.');
}

function titleFor(status: number): string {
  return ({ 400: 'That did not work', 401: 'Signed out', 403: 'Refused', 404: 'Not found', 422: 'Not allowed', 429: 'Slow down' } as Record<number, string>)[status] ?? 'Error';
}
