// Debian packages a section needs, installed when missing (CI machines start bare). The
// maintainer scripts are kept from starting system services (policy-rc.d), which would
// grab ports or, for fail2ban, start banning on this machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

const installed = (pkg: string) =>
  spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed') ?? false;

export function ensurePackages(packages: string[]): void {
  const missing = packages.filter((p) => !installed(p));
  if (!missing.length) return;
  console.error(`[bench] apt-get install ${missing.join(' ')}`);
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, encoding: 'utf8' });
    let r = install();
    if (r.status !== 0) {
      execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
      r = install();
    }
    if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${r.stderr}`);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}
