// Is a TCP port free to listen on, and if not, who holds it? Checked before the service
// opens its database or starts the enforcer, so a second `npm start` says what is wrong
// instead of dying half-started with a stack trace.
import { createServer } from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The error code of listening on host:port (e.g. EADDRINUSE, EACCES), or null when it is free. */
export function listenError(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

/** Which process listens on a TCP port, from /proc (Linux; only processes this user may inspect). */
export function portHolder(port: number): string | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; column 9 is the socket inode.
      if (cols.length > 9 && cols[3] === '0A' && parseInt(cols[1]!.split(':')[1]!, 16) === port) inodes.add(cols[9]!);
    }
  }
  if (!inodes.size) return null;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        let command = '';
        try {
          command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        } catch {
          // gone meanwhile
        }
        return `pid ${pid}${command ? ` (${command.length > 120 ? `${command.slice(0, 117)}...` : command})` : ''}`;
      }
    }
  }
  return null;
}

/** A sentence for the person starting the service, or null when every address is free. */
export async function explainBusyPorts(listeners: ReadonlyArray<{ host: string; port: number; what: string }>): Promise<string | null> {
  for (const { host, port, what } of listeners) {
    if (port === 0) continue;
    const code = await listenError(host, port);
    if (!code) continue;
    if (code === 'EADDRINUSE') {
      const holder = portHolder(port);
      return `cannot listen for ${what} on ${host}:${port}: the port is in use${holder ? ` by ${holder}` : ' (by a process this user cannot see)'}. Stop it, or choose another port.`;
    }
    if (code === 'EACCES') return `cannot listen for ${what} on ${host}:${port}: permission denied (ports below 1024 need privileges).`;
    if (code === 'EADDRNOTAVAIL') return `cannot listen for ${what} on ${host}:${port}: no such address on this host.`;
    return `cannot listen for ${what} on ${host}:${port}: ${code}`;
  }
  return null;
}
