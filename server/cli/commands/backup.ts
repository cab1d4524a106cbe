// A consistent copy of the live database through SQLite's online backup API: safe while
// the service writes (WAL readers never block it), unlike copying the file, which can
// tear a page or miss the WAL.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CommandFailed, defineCommand } from '../command.ts';
import { withDatabase } from '../context.ts';

// All remaining pages in one step: the copy holds one read snapshot, so a writer in
// another process cannot make it restart again and again.
const ALL_PAGES = 0x7fffffff;

function checkCopy(file: string): { sites: number; events: number; bans: number } {
  const copy = new Database(file, { readonly: true });
  try {
    const integrity = copy.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new CommandFailed(`the copy failed its integrity check: ${String(integrity)}`);
    const count = (table: string) => (copy.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { sites: count('sites'), events: count('events'), bans: count('bans') };
  } finally {
    copy.close();
  }
}

export default defineCommand({
  name: 'backup',
  summary: 'write a consistent copy of the database to a file, safe while the service runs',
  description:
    'The copy holds every site secret: it is written with mode 0600. To restore it, stop the service,\n' +
    'put the copy in place of <data dir>/edgejail.db, delete edgejail.db-wal and edgejail.db-shm, start.',
  positionals: [{ name: 'file', description: 'where to write the copy (a new file)' }],
  options: { force: { type: 'boolean', description: 'replace the file if it exists' } },
  examples: ['edgejail backup /var/backups/edgejail/edgejail-$(date +%F).db'],
  run: ({ args, options, config, out }) =>
    withDatabase(config, async (db) => {
      const target = resolve(args.file!);
      if (existsSync(target) && !options.force) throw new CommandFailed(`${target} exists; add --force to replace it`);
      if (!existsSync(dirname(target))) throw new CommandFailed(`the directory ${dirname(target)} does not exist`);
      if (resolve(db.name) === target) throw new CommandFailed('the backup cannot be the database itself');
      // Written beside the target and renamed into place: an interrupted backup never
      // leaves a half copy under the name a restore would use.
      const partial = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.partial`);
      const umask = process.umask(0o077);
      try {
        await db.backup(partial, { progress: () => ALL_PAGES });
        chmodSync(partial, 0o600);
        const counts = checkCopy(partial);
        renameSync(partial, target);
        const mb = (statSync(target).size / 1_048_576).toFixed(1);
        out.line(`backed up ${db.name} to ${target} (${mb} MB: ${counts.sites} sites, ${counts.events} events, ${counts.bans} bans; integrity ok)`);
        return 0;
      } finally {
        process.umask(umask);
        rmSync(partial, { force: true });
      }
    }),
});
