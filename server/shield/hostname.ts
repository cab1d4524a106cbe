// Hostnames as Cloudflare's `http.host` compares them. Pasted into a rule expression, so
// anything else (a quote, a port, upper case) is refused before it gets there.
export const HOSTNAME_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Cloudflare zone ids are 32 lowercase hex characters. */
export const ZONE_ID_RE = /^[0-9a-f]{32}$/;

/** The host of a site URL as the plugin reports it (`https://Shop.Example.com/blog`), or null. */
export function hostOfUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
    return HOSTNAME_RE.test(host) ? host : null;
  } catch {
    return null;
  }
}

/** A hostname typed by a person: lower-cased, trailing dot dropped; null when it is not one. */
export function normaliseHostname(text: string): string | null {
  const host = text.trim().toLowerCase().replace(/\.$/, '');
  return HOSTNAME_RE.test(host) ? host : null;
}
