// What the figures were measured on, so a reader can tell whether theirs compare.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { round } from './stats.ts';

/** The version a program prints (nginx -v writes to stderr), or 'not installed'. */
function versionOf(cmd: string, args: string[], pattern: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return 'not installed';
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return pattern.exec(text)?.[1] ?? (text.trim().split('\n')[0] || 'unknown');
}

export function describeMachine() {
  return {
    date: new Date().toISOString(),
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory_gb: round(totalmem() / 2 ** 30),
    node: process.version,
    php: versionOf('php', ['-r', 'echo PHP_VERSION;'], /^(\S+)$/),
    nginx: versionOf('nginx', ['-v'], /nginx\/(\S+)/),
    mariadb: versionOf('mariadbd', ['--version'], /Ver (\S+)/),
    fail2ban: versionOf('fail2ban-server', ['--version'], /v(\S+)/),
  };
}
