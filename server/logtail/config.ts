// The `tail` section of the configuration: log files the service itself follows, each list
// of paths read as one site's events. What `edgejail tail` does as its own process, inside
// the service: the same reading, the same ingest path, the same offsets in SQLite.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { LOG_FORMATS } from './parse.ts';
import { parseCidr } from '../jail/ip.ts';

const pathSchema = z
  .string({ message: 'must be the path of a log file' })
  .min(1, 'must be the path of a log file')
  // The service's working directory is not the admin's: a relative path would be read elsewhere.
  .refine((p) => isAbsolute(p), { error: (issue) => `"${String(issue.input)}" is not an absolute path (write e.g. /var/log/nginx/access.log)` });

export const tailSourceSchema = z.strictObject({
  /** The site (id or unique name, as `edgejail site list` shows) whose events the lines are. */
  site: z.string({ message: 'must name a site (its id or name, see edgejail site list)' }).min(1, 'must name a site (its id or name, see edgejail site list)'),
  format: z.enum(LOG_FORMATS, { message: `must be one of ${LOG_FORMATS.join(', ')}` }).default('auto'),
  paths: z.array(pathSchema, { message: 'must be a list of log file paths' }).min(1, 'must name at least one log file'),
  /** Peers besides Cloudflare's ranges whose CF-Connecting-IP is believed (cloudflared: 127.0.0.1, ::1). */
  trusted_peers: z.array(z.string().refine((c) => parseCidr(c) !== null, 'must be an IP address or CIDR range')).default([]),
  /** A file never read before is read from its start rather than from its end. */
  from_start: z.boolean().default(false),
});

export const tailConfigSchema = z
  .array(tailSourceSchema, { message: 'must be a list of {site, format, paths}' })
  .default([])
  .superRefine((sources, ctx) => {
    // Where a file has been read to is kept per path: two readers of one path would each
    // count its lines, and overwrite each other's offset.
    const seen = new Map<string, number>();
    sources.forEach((source, i) =>
      source.paths.forEach((path, j) => {
        const first = seen.get(path);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'paths', j], message: `"${path}" is already followed by tail.${first}: each file may be followed once` });
        else seen.set(path, i);
      }),
    );
  });

export type TailSource = z.infer<typeof tailSourceSchema>;
