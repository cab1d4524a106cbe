import { randomBytes } from 'node:crypto';
import { defineCommand } from '../command.ts';
import { findSite, withCore } from '../context.ts';

export default defineCommand({
  name: 'site rotate-secret',
  summary: 'give a site a new secret; prints it once, the old one stops working',
  positionals: [{ name: 'site', description: 'the site\'s id or name' }],
  options: { json: { type: 'boolean', description: 'print only {"id","secret"} as JSON' } },
  run: ({ args, options, config, out }) =>
    withCore(config, (core) => {
      const site = findSite(core, args.site!);
      const at = new Date().toISOString();
      const secret = randomBytes(32).toString('hex');
      core.store.transaction(() => {
        core.store.rotateSecret(site.id, secret, at);
        core.store.audit({ at, actor: 'admin:cli', action: 'site_rotate_secret', site_id: site.id });
      });
      if (options.json) out.line(JSON.stringify({ id: site.id, secret }));
      else {
        out.line(`new secret for ${site.name} (${site.id}); the old one stops working now:\n`);
        out.line(`define( 'EDGEJAIL_SECRET', '${secret}' );`);
      }
      return 0;
    }),
});
