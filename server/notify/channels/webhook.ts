// Webhook channels: `format: json` posts our own JSON signed like the plugin's webhook
// (X-EdgeJail-Timestamp, X-EdgeJail-Signature: sha256=HMAC(secret, timestamp + "." + body));
// `format: slack` posts `{"text"}` to a Slack or Discord (…/slack) incoming webhook.
import { signBody } from '../../auth/site-signature.ts';
import { jsonPayload, slackPayload, type NotifyMessage } from '../message.ts';
import { DeliveryError, redactUrl, type Channel } from './channel.ts';

const TIMEOUT_MS = 10_000;
const MAX_RETRY_AFTER_MS = 10 * 60_000;

export interface WebhookChannelOptions {
  index: number;
  url: string;
  format: 'json' | 'slack';
  /** The signing key of a json webhook. */
  secret: string | null;
  now: () => number;
}

function retryAfterMs(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : null;
}

export function createWebhookChannel(options: WebhookChannelOptions): Channel {
  const { url, format, secret, now } = options;
  const parsed = new URL(url);
  const redactions = [url, parsed.pathname, parsed.search, parsed.password].filter((r) => r && r !== '/');
  return {
    name: `webhook#${options.index + 1} (${format}) ${redactUrl(url)}`,
    kind: format === 'json' ? 'webhook_json' : 'webhook_slack',
    redactions,
    close() {},
    async send(message: NotifyMessage, signal: AbortSignal) {
      const body = JSON.stringify(format === 'json' ? jsonPayload(message) : slackPayload(message));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'EdgeJail-Notify' };
      if (format === 'json' && secret !== null) {
        const timestamp = String(Math.floor(now() / 1000));
        headers['x-edgejail-timestamp'] = timestamp;
        headers['x-edgejail-signature'] = `sha256=${signBody(secret, timestamp, body)}`;
      }
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]) });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        throw new DeliveryError(`request failed: ${(error as Error).name}${cause ? ` (${cause})` : ''}`, true);
      }
      // The answer's body is of no use beyond a hint; read a little so the socket is freed.
      const hint = (await response.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
      if (response.ok) return;
      const status = response.status;
      const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
      const detail = status >= 300 && status < 400 ? 'a redirect (not followed: give the final URL)' : hint;
      throw new DeliveryError(`HTTP ${status}${detail ? `: ${detail}` : ''}`, retryable, retryable ? retryAfterMs(response.headers.get('retry-after')) : null);
    },
  };
}
