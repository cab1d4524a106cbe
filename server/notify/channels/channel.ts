// What every channel offers the delivery queue, and the error that says whether a retry
// can help. A channel's `name` is safe to log and audit: no token-bearing URL, no password.
import type { NotifyMessage } from '../message.ts';

export interface Channel {
  /** e.g. `webhook#1 (json) https://hooks.example/…`; never the full URL. */
  name: string;
  kind: 'webhook_json' | 'webhook_slack' | 'smtp';
  send(message: NotifyMessage, signal: AbortSignal): Promise<void>;
  close(): void;
  /** Texts that must never reach a log or an audit row (URL paths, secrets). */
  redactions: string[];
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/**
 * A webhook URL as it may be shown: scheme and host only. Slack's, Discord's and most
 * services' hook URLs carry their token in the path or the query.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = parsed.pathname !== '/' || parsed.search !== '' || parsed.username !== '' ? '/…' : '/';
    return `${parsed.protocol}//${parsed.host}${hidden}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Replaces every redaction in `text` (longest first) with "…". */
export function scrub(text: string, redactions: readonly string[]): string {
  let out = text;
  for (const secret of [...redactions].filter((r) => r.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(secret).join('…');
  return out;
}
