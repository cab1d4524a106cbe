// What the dashboard says about a block at Cloudflare. A key the outbox is still working on
// after an error reads "retrying (attempt 3, next in 20 s)": during a Cloudflare outage a push
// being retried must not look final. `failed` is kept for what the enforcer has given up on,
// which only a person can fix.
import type { EnforcementDetail } from '../store/dashboard-queries.ts';
import { CLOUDFLARE_STATE_LABELS, formatSpan, type Tone } from './format.ts';

export interface CloudflareShown {
  text: string;
  tone: Tone;
  /** The last error, for the badge's title and the detail line. */
  error: string | null;
  /** Failed and not retried: nothing will change until someone acts. */
  needsPerson: boolean;
}

// States in which Cloudflare already blocks (or, in dry-run, would): a retry behind them is an update.
const SETTLED = new Set(['applied', 'dry_run', 'foreign']);

export function describeCloudflare(state: string | null, detail: EnforcementDetail | undefined, nowMs: number): CloudflareShown {
  const inOutbox = detail?.attempts !== null && detail?.attempts !== undefined;
  if (state !== null && !SETTLED.has(state) && inOutbox && (detail!.outbox_error !== null || state === 'failed')) {
    // The outbox counts an attempt when it starts: while one runs ('applying') it is that one,
    // otherwise the one it waits for is the next.
    const running = state === 'applying';
    const attempt = detail!.attempts! + (running ? 0 : 1);
    const waitMs = Date.parse(detail!.next_attempt_at!) - nowMs;
    const when = running ? 'under way' : Number.isFinite(waitMs) && waitMs > 500 ? `next in ${formatSpan(waitMs)}` : 'due now';
    return { text: `retrying (attempt ${attempt}, ${when})`, tone: 'busy', error: detail!.outbox_error ?? detail!.block_error, needsPerson: false };
  }
  if (state === null) return { text: 'not sent', tone: 'muted', error: null, needsPerson: false };
  const known = CLOUDFLARE_STATE_LABELS[state];
  const failed = state === 'failed';
  return {
    text: known?.text ?? state,
    tone: known?.tone ?? 'muted',
    error: failed ? (detail?.block_error ?? null) : null,
    needsPerson: failed && !inOutbox,
  };
}
