// One message as every channel renders it: the JSON webhook's body, the Slack/Discord text,
// the e-mail's subject and text. Pure; the channels only carry the result.
import type { DigestItem } from './digest.ts';

export interface NotifyMessage {
  id: string;
  type: 'digest' | 'test';
  createdAtMs: number;
  items: DigestItem[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const MARK = { firing: '[alert]', resolved: '[resolved]', info: '[info]' } as const;

export function messageTitle(message: NotifyMessage): string {
  if (message.type === 'test') return 'EdgeJail test message';
  const firing = message.items.filter((i) => i.status === 'firing').length;
  const resolved = message.items.filter((i) => i.status === 'resolved').length;
  const first = message.items[0];
  const more = message.items.length > 1 ? ` (+${message.items.length - 1} more)` : '';
  const head = firing ? `${firing} alert${firing === 1 ? '' : 's'}` : resolved ? `${resolved} resolved` : 'summary';
  return `EdgeJail ${head}: ${first?.summary.slice(0, 120) ?? ''}${more}`;
}

export function messageLines(message: NotifyMessage): string[] {
  return message.items.map((item) => `${MARK[item.status]} ${item.summary}`);
}

/** The body of a `format: json` webhook; documented in the README as a contract. */
export function jsonPayload(message: NotifyMessage) {
  return {
    type: `edgejail.${message.type}`,
    id: message.id,
    sent_at: iso(message.createdAtMs),
    title: messageTitle(message),
    items: message.items.map((item) => ({
      kind: item.kind,
      status: item.status,
      site: item.siteId === null ? null : { id: item.siteId, name: item.siteName },
      summary: item.summary,
      count: item.count,
      first_at: iso(item.firstAtMs),
      last_at: iso(item.lastAtMs),
      detail: item.detail,
    })),
  };
}

/** Slack's incoming webhooks and Discord's Slack-compatible ones (URL ending in /slack) take `{"text"}`. */
export function slackPayload(message: NotifyMessage): { text: string } {
  const lines = messageLines(message).map((line) => `• ${line}`);
  return { text: [`*${messageTitle(message)}*`, ...lines].join('\n') };
}

export function mailContent(message: NotifyMessage): { subject: string; text: string } {
  const body = [
    messageTitle(message),
    '',
    ...messageLines(message),
    '',
    message.type === 'test'
      ? 'This is a test sent by `edgejail notify test`: this channel works.'
      : `At most one such digest per channel per notify.min_interval; the audit log holds every message (action LIKE 'notify%').`,
    `Message ${message.id}, ${iso(message.createdAtMs)}`,
  ];
  return { subject: messageTitle(message).slice(0, 200), text: body.join('\n') };
}
