// Debian packages a section needs, installed when missing (CI machines start bare), through
// the one installer the test scripts use: it queues on a lock beside any other install and
// keeps the maintainer scripts from starting system services (policy-rc.d), which would
// grab ports or, for fail2ban, start banning on this machine.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../test/support/process.ts';

export function ensurePackages(packages: string[]): void {
  const r = spawnSync(join(ROOT, 'scripts', 'apt-install.sh'), ['--tag', 'bench', ...packages], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  if (r.status !== 0) throw new Error(`apt-get install ${packages.join(' ')} failed:\n${r.stderr}`);
  if (r.stderr) process.stderr.write(r.stderr);
}
