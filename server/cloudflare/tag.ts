// Our mark on every rule and list item we create. The reconciler trusts nothing else
// to tell our rules from the ones a person made: no tag, never touched.
const TAG_PREFIX = 'edgejail:';
const TAG_RE = /^edgejail:(\S+)(?:\s|$)/;

export interface TagFields {
  ipKey: string;
  jails: string[];
  until: string;
}

/** `edgejail:<ip_key> jail=<jail>[,<jail>...] until=<ISO>`: readable in the dashboard, parseable here. */
export function formatTag({ ipKey, jails, until }: TagFields): string {
  const jailText = [...new Set(jails)].sort().join(',').replace(/\s+/g, '_') || 'unknown';
  return `${TAG_PREFIX}${ipKey} jail=${jailText} until=${until}`;
}

/** The ip_key a rule's notes (or a list item's comment) were written for, or null when it is not ours. */
export function ipKeyFromTag(text: string | null | undefined): string | null {
  if (!text) return null;
  return TAG_RE.exec(text)?.[1] ?? null;
}

/** Substring Cloudflare's `notes` filter can search for: every tag of ours, or one ip_key's. */
export function tagSearchText(ipKey?: string): string {
  return ipKey ? `${TAG_PREFIX}${ipKey}` : TAG_PREFIX;
}
