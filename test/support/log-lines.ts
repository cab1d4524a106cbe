// Lines as nginx writes them for the logtail tests: combined format plus "$http_cf_connecting_ip",
// from a Cloudflare peer (173.245.48.10), timed now so the jails count them.

const pad = (n: number) => String(n).padStart(2, '0');

/** nginx's $time_local in UTC: 02/Dec/2026:09:05:00 +0000. */
export function clfTime(d = new Date()): string {
  const mon = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return `${pad(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** A failed wp-login.php POST (WordPress answers a failure with 200) for the client `ip`. */
export const failedLoginLine = (ip: string) => `173.245.48.10 - - [${clfTime()}] "POST /wp-login.php HTTP/1.1" 200 4521 "-" "curl/8" "${ip}"\n`;

/** `n` of them. */
export const failedLoginLines = (ip: string, n: number) => Array.from({ length: n }, () => failedLoginLine(ip)).join('');

/** Polls until `what` holds: the tailer works in its own time, and the machine may be loaded. */
export async function until(what: () => boolean | Promise<boolean>, everyMs = 25): Promise<void> {
  while (!(await what())) await new Promise((r) => setTimeout(r, everyMs));
}
