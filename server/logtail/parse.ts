// Web-server and WP fail2ban log lines → the events the plugin sends. Pure functions: the
// follower (files, offsets) and the ingest path are elsewhere.
//
// - An access-log POST to /wp-login.php answered 200 is a failed login: WordPress answers a
//   failure with the form again (200) and a success with a redirect (302).
// - Any POST to /xmlrpc.php is an xmlrpc_login_failed of weight 1: the log does not show
//   what the call was, nor how many passwords a multicall carried.
// - The client is $http_cf_connecting_ip when the line carries it and the peer is one of
//   Cloudflare's addresses (anyone else can send that header); otherwise the peer.
import * as crypto from 'node:crypto';
import type { EventType } from '../contract/events.ts';
import { normaliseIp } from '../jail/ip.ts';

export const LOG_FORMATS = ['nginx', 'apache', 'wp-fail2ban', 'auto'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogEvent {
  type: EventType;
  ip: string;
  occurredAtMs: number;
  username: string | null;
  userAgent: string | null;
  path: string | null;
  weight: number;
}

export type ParsedLine =
  | { kind: 'event'; event: LogEvent }
  /** A well-formed line that is no login attempt (a page view, a GET, …). */
  | { kind: 'ignored' }
  | { kind: 'unparsed'; reason: string };

export interface ParseContext {
  /** Whether the peer is one of Cloudflare's addresses (whose CF-Connecting-IP is trusted). */
  isCloudflare: (ip: string) => boolean;
  /** Now, for the year syslog's timestamps leave out. */
  nowMs: number;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

// nginx's combined and Apache's combined formats are the same shape; EdgeJail's documented
// formats add "$http_cf_connecting_ip" (nginx) or "%{CF-Connecting-IP}i" (Apache) at the end.
const COMBINED_RE =
  /^(\S+) \S+ \S+ \[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "([A-Z]{1,16}) (\S+)(?: [^"]*)?" (\d{3}) \S+(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(?: "([^"]*)")?\s*$/;

/** `[02/Dec/2026:05:50:01 +0100]` → ms, or null when no such instant exists. */
function combinedTime(m: RegExpExecArray): number | null {
  const month = MONTHS[m[3]!];
  if (month === undefined) return null;
  const utc = Date.UTC(Number(m[4]), month, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  const offsetMin = (Number(m[9]) * 60 + Number(m[10])) * (m[8] === '-' ? -1 : 1);
  return Number.isFinite(utc) ? utc - offsetMin * 60_000 : null;
}

function clientIp(peer: string, forwarded: string | undefined, ctx: ParseContext): string | null {
  const peerIp = normaliseIp(peer);
  if (!peerIp) return null;
  if (forwarded && forwarded !== '-' && ctx.isCloudflare(peerIp)) return normaliseIp(forwarded.trim());
  return peerIp;
}

const unescapeField = (s: string | undefined) => (s === undefined || s === '-' ? null : s.includes('\\') ? s.replace(/\\(.)/g, '$1') : s);

export function parseAccessLine(line: string, ctx: ParseContext): ParsedLine {
  const m = COMBINED_RE.exec(line);
  if (!m) return { kind: 'unparsed', reason: 'not a combined-format access log line' };
  const occurredAtMs = combinedTime(m);
  if (occurredAtMs === null) return { kind: 'unparsed', reason: 'bad timestamp' };
  const ip = clientIp(m[1]!, m[16], ctx);
  if (!ip) return { kind: 'unparsed', reason: 'bad client address' };
  const method = m[11]!;
  const target = m[12]!;
  const status = Number(m[13]);
  if (method !== 'POST') return { kind: 'ignored' };
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const path = rawPath.includes('//') ? rawPath.replace(/\/{2,}/g, '/') : rawPath;
  const event = (type: EventType): ParsedLine => ({
    kind: 'event',
    event: { type, ip, occurredAtMs, username: null, userAgent: unescapeField(m[15]), path: target.slice(0, 2048), weight: 1 },
  });
  if (path.endsWith('/xmlrpc.php')) return event('xmlrpc_login_failed');
  if (path.endsWith('/wp-login.php')) {
    const action = q === -1 ? null : new URLSearchParams(target.slice(q + 1)).get('action');
    // Log out, lost password, register… post to wp-login.php too; only the login form counts.
    if (action !== null && action !== 'login') return { kind: 'ignored' };
    if (status === 200) return event('login_failed');
    if (status === 302) return event('login_succeeded');
  }
  return { kind: 'ignored' };
}

// `Dec  2 05:50:01 host wordpress(example.com)[1234]: …` or an RFC 3339 stamp in its place.
const SYSLOG_RE =
  /^(?:([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))) \S+ wordpress(?:\([^)]*\))?(?:\[\d+\])?: (.*)$/;

const ADDR = '([0-9A-Fa-f:.]+)';
// WP fail2ban's messages (its filters' own failregex lines), in the order they must be tried.
const WPF2B_MESSAGES: Array<{ re: RegExp; type: EventType; user?: boolean; weight?: boolean }> = [
  { re: new RegExp(`^Authentication attempt for unknown user (.*) from ${ADDR}$`), type: 'login_failed', user: true },
  { re: new RegExp(`^Blocked authentication attempt for (.*) from ${ADDR}$`), type: 'blocked_username', user: true },
  { re: new RegExp(`^XML-RPC authentication attempt for unknown user (.*) from ${ADDR}$`), type: 'xmlrpc_login_failed', user: true },
  { re: new RegExp(`^XML-RPC authentication failure for (.*) from ${ADDR}$`), type: 'xmlrpc_login_failed', user: true },
  { re: new RegExp(`^XML-RPC multicall authentication failure from ${ADDR}$`), type: 'xmlrpc_multicall' },
  { re: new RegExp(`^Authentication failure for (.*) from ${ADDR}$`), type: 'login_failed', user: true },
  { re: new RegExp(`^Accepted password for (.*) from ${ADDR}$`), type: 'login_succeeded', user: true },
  { re: new RegExp(`^Blocked user enumeration attempt from ${ADDR}$`), type: 'user_enumeration' },
  { re: new RegExp(`^Pingback error .* from ${ADDR}$`), type: 'pingback' },
  { re: new RegExp(`^Pingback requested from ${ADDR}$`), type: 'pingback' },
];

/** A syslog time without a year: the latest year that does not put it more than a day ahead of now. */
function syslogTime(month: string, day: string, h: string, mi: string, s: string, nowMs: number): number | null {
  const mon = MONTHS[month];
  if (mon === undefined) return null;
  const year = new Date(nowMs).getUTCFullYear();
  for (const y of [year, year - 1]) {
    const t = Date.UTC(y, mon, Number(day), Number(h), Number(mi), Number(s));
    if (t <= nowMs + 86_400_000) return t;
  }
  return null;
}

export function parseWpFail2banLine(line: string, ctx: ParseContext): ParsedLine {
  const m = SYSLOG_RE.exec(line);
  if (!m) return { kind: 'unparsed', reason: 'not a WP fail2ban syslog line' };
  const occurredAtMs = m[6] ? Date.parse(m[6]) : syslogTime(m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, ctx.nowMs);
  if (occurredAtMs === null || !Number.isFinite(occurredAtMs)) return { kind: 'unparsed', reason: 'bad timestamp' };
  const message = m[7]!.trim();
  for (const rule of WPF2B_MESSAGES) {
    const hit = rule.re.exec(message);
    if (!hit) continue;
    const ip = normaliseIp(hit[rule.user ? 2 : 1]!);
    if (!ip) return { kind: 'unparsed', reason: 'bad client address' };
    return {
      kind: 'event',
      event: { type: rule.type, ip, occurredAtMs, username: rule.user ? hit[1]!.slice(0, 255) : null, userAgent: null, path: null, weight: 1 },
    };
  }
  return { kind: 'ignored' };
}

export function parseLine(line: string, format: LogFormat, ctx: ParseContext): ParsedLine {
  switch (format) {
    case 'nginx':
    case 'apache':
      return parseAccessLine(line, ctx);
    case 'wp-fail2ban':
      return parseWpFail2banLine(line, ctx);
    case 'auto': {
      const wp = parseWpFail2banLine(line, ctx);
      return wp.kind === 'unparsed' ? parseAccessLine(line, ctx) : wp;
    }
  }
}

/**
 * A stable event id for a line at `offset` of one file: re-reading it after a crash is a
 * duplicate, not a new attempt. The text is part of it: after a truncation, new lines come
 * at the same offsets of the same file. Laid out as a version-8 (custom) UUID, which the
 * event contract accepts: the file's hash, then the offset in hex (so one file's ids grow
 * with the file and land at the end of the events' id index instead of all over it), then
 * the text's hash.
 */
let lastFile = { identity: '', hash: '' };
// The one-shot hash (Node 20.12+) is twice as fast as a Hash object; a line is hashed each.
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');
export function lineEventId(fileIdentity: string, offset: number, text: string): string {
  if (lastFile.identity !== fileIdentity) lastFile = { identity: fileIdentity, hash: sha256Hex(fileIdentity) };
  const file = lastFile.hash;
  // 11 hex digits: 16 TB into one file.
  const at = offset.toString(16).padStart(11, '0').slice(-11);
  const line = sha256Hex(`${fileIdentity}\u0000${offset}\u0000${text}`);
  return `${file.slice(0, 8)}-${at.slice(0, 4)}-8${at.slice(4, 7)}-8${at.slice(7, 10)}-${at.slice(10)}${line.slice(0, 11)}`;
}
