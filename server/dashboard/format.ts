// How times, durations and states read on the dashboard: UTC everywhere (the audit log
// is UTC), with a relative hint a person takes in at a glance.

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatSpan(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400 * 2) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

export function relativeTime(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const diff = ms - nowMs;
  return diff >= 0 ? `in ${formatSpan(diff)}` : `${formatSpan(diff)} ago`;
}

export const formatCount = (n: number) => n.toLocaleString('en-US');

export type Tone = 'good' | 'busy' | 'bad' | 'muted' | 'info';

/** The enforcer's word for where a ban stands at Cloudflare, as a person reads it. */
export const CLOUDFLARE_STATE_LABELS: Record<string, { text: string; tone: Tone }> = {
  applied: { text: 'applied', tone: 'good' },
  pending: { text: 'pending', tone: 'busy' },
  applying: { text: 'applying', tone: 'busy' },
  removing: { text: 'removing', tone: 'muted' },
  failed: { text: 'failed', tone: 'bad' },
  dry_run: { text: 'dry-run', tone: 'info' },
  foreign: { text: 'covered by another rule', tone: 'info' },
};
