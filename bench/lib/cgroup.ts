// A memory-limited control group of our own, for the origin-survival section: created as a
// child of the group this process already runs in (so it never leaves whatever its caller
// was given, and never writes to any other group), removed afterwards. cgroup v2 where the
// memory controller is on the unified hierarchy, otherwise cgroup v1's memory controller.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type CgroupVersion = 'v1' | 'v2';

interface Mount {
  path: string;
  fstype: string;
  /** cgroup v1: the controllers this hierarchy carries (from the mount options). */
  options: string[];
}

/** cgroup mounts from /proc/self/mountinfo (fields: … mount point … - fstype source options). */
export function parseCgroupMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fstype, , superOptions = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    mounts.push({ path: left.split(' ')[4]!.replace(/\\040/g, ' '), fstype, options: superOptions.split(',') });
  }
  return mounts;
}

/** This process's group per hierarchy, from /proc/self/cgroup ("id:controllers:path"). */
export function parseProcCgroup(text: string): { v2: string | null; v1: Map<string, string> } {
  let v2: string | null = null;
  const v1 = new Map<string, string>();
  for (const line of text.split('\n').filter(Boolean)) {
    const [id, controllers, ...rest] = line.split(':');
    const path = rest.join(':');
    if (id === '0' && controllers === '') v2 = path;
    else for (const c of (controllers ?? '').split(',')) v1.set(c, path);
  }
  return { v2, v1 };
}

export interface MemoryGroup {
  version: CgroupVersion;
  /** The group's directory, e.g. /sys/fs/cgroup/memory/<ours>/edgejail-origin-survival-…. */
  dir: string;
  /** The group's path inside its hierarchy, as the kernel log names it (oom_memcg=…). */
  path: string;
  limitBytes: number;
  usageBytes(): number;
  /** Peak usage since the group was made or resetPeak (v1: max_usage_in_bytes; v2: memory.peak). */
  peakBytes(): number | null;
  resetPeak(): void;
  /** OOM kills inside the group (v1 memory.oom_control oom_kill, v2 memory.events oom_kill). */
  oomKills(): number;
  pids(): number[];
  /** Kills what is still inside (it can only be ours) and removes the group. */
  remove(): Promise<void>;
}

const read = (file: string) => readFileSync(file, 'utf8');

function counter(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function notWritable(where: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new Error(
    `origin-survival needs a memory cgroup it can create and write (${code} at ${where}). ` +
      'Run it as root on a host with cgroup v2 (memory controller delegated) or cgroup v1\'s memory controller mounted read-write; ' +
      'in a container, give it a writable /sys/fs/cgroup.',
  );
}

/** Where a child of our own memory group goes, and which cgroup version holds the controller. */
export function locateMemoryParent(mountinfo = read('/proc/self/mountinfo'), procCgroup = read('/proc/self/cgroup')): { version: CgroupVersion; dir: string; path: string } {
  const mounts = parseCgroupMounts(mountinfo);
  const own = parseProcCgroup(procCgroup);
  const unified = mounts.find((m) => m.fstype === 'cgroup2');
  if (unified && own.v2 !== null) {
    const dir = join(unified.path, own.v2);
    // The controller is on v2 only when the parent lists it (it is absent where v1 holds it).
    const controllers = existsSync(join(dir, 'cgroup.controllers')) ? read(join(dir, 'cgroup.controllers')).trim().split(/\s+/) : [];
    if (controllers.includes('memory')) return { version: 'v2', dir, path: own.v2 };
  }
  const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes('memory'));
  const path = own.v1.get('memory');
  if (v1 && path !== undefined) return { version: 'v1', dir: join(v1.path, path), path };
  throw new Error('origin-survival needs a memory cgroup: no cgroup v2 with the memory controller and no cgroup v1 memory hierarchy is mounted here');
}

/** Groups made and not yet removed: a Ctrl-C or a kill must not leave them (and the origin in them) behind. */
const live = new Set<MemoryGroup>();
let removingOnSignal = false;

function removeOnSignal(signal: NodeJS.Signals): void {
  if (removingOnSignal) return;
  removingOnSignal = true;
  console.error(`[bench] ${signal}: killing what runs in ${live.size} memory group(s) and removing them`);
  void Promise.allSettled([...live].map((group) => group.remove())).then((results) => {
    for (const r of results) if (r.status === 'rejected') console.error(`[bench] ${(r.reason as Error).message}`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

function track(group: MemoryGroup): MemoryGroup {
  if (live.size === 0) for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, removeOnSignal);
  live.add(group);
  const remove = group.remove;
  group.remove = async () => {
    try {
      await remove();
    } finally {
      live.delete(group);
      if (live.size === 0 && !removingOnSignal) for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, removeOnSignal);
    }
  };
  return group;
}

export function createMemoryGroup(name: string, limitBytes: number): MemoryGroup {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`cgroup name ${name} must be lower-case letters, digits and dashes`);
  const parent = locateMemoryParent();
  const dir = join(parent.dir, name);
  const path = `${parent.path.replace(/\/$/, '')}/${name}`;
  const v2 = parent.version === 'v2';
  try {
    if (v2) {
      // A v2 group gets the memory controller only if its parent hands it down.
      const sub = read(join(parent.dir, 'cgroup.subtree_control'));
      if (!sub.split(/\s+/).includes('memory')) writeFileSync(join(parent.dir, 'cgroup.subtree_control'), '+memory');
    }
    mkdirSync(dir);
  } catch (error) {
    throw notWritable(parent.dir, error);
  }
  const file = (f: string) => join(dir, f);
  try {
    if (v2) {
      writeFileSync(file('memory.max'), String(limitBytes));
      // Like a VPS without swap: the limit is all there is.
      if (existsSync(file('memory.swap.max'))) writeFileSync(file('memory.swap.max'), '0');
    } else {
      writeFileSync(file('memory.limit_in_bytes'), String(limitBytes));
      if (existsSync(file('memory.memsw.limit_in_bytes'))) writeFileSync(file('memory.memsw.limit_in_bytes'), String(limitBytes));
      writeFileSync(file('memory.swappiness'), '0');
    }
  } catch (error) {
    rmdirSync(dir);
    throw notWritable(dir, error);
  }

  const pids = () => read(file('cgroup.procs')).split('\n').filter(Boolean).map(Number);
  return track({
    version: parent.version,
    dir,
    path,
    limitBytes,
    usageBytes: () => Number(read(file(v2 ? 'memory.current' : 'memory.usage_in_bytes')).trim()),
    peakBytes: () => {
      const f = file(v2 ? 'memory.peak' : 'memory.max_usage_in_bytes');
      return existsSync(f) ? Number(read(f).trim()) : null;
    },
    resetPeak: () => {
      // v1 resets on any write; v2's memory.peak takes a reset only from kernel 6.12 on.
      try {
        writeFileSync(file(v2 ? 'memory.peak' : 'memory.max_usage_in_bytes'), v2 ? 'reset' : '0');
      } catch {
        /* an older v2 kernel: the caller's own sampling covers the peak */
      }
    },
    oomKills: () => counter(read(file(v2 ? 'memory.events' : 'memory.oom_control')), 'oom_kill'),
    pids,
    remove: async () => {
      if (!existsSync(dir)) return;
      for (let i = 0; i < 100; i++) {
        const left = pids();
        if (!left.length) break;
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone already */
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      // A group is removed once it is empty; a child group made by something we ran would block it.
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) rmdirSync(join(dir, entry.name));
      for (let i = 0; ; i++) {
        try {
          rmdirSync(dir);
          return;
        } catch (error) {
          if (i >= 50) throw new Error(`could not remove cgroup ${dir}: ${(error as Error).message}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  });
}

export interface OomVictim {
  pid: number;
  task: string;
}

/**
 * The kernel's OOM reports for one group, from dmesg text: the line
 * "oom-kill:constraint=CONSTRAINT_MEMCG,…,oom_memcg=<path>,task_memcg=…,task=<name>,pid=<n>,uid=…".
 */
export function oomVictimsIn(dmesg: string, groupPath: string): OomVictim[] {
  const victims: OomVictim[] = [];
  for (const line of dmesg.split('\n')) {
    const at = line.indexOf('oom-kill:');
    if (at < 0) continue;
    const fields = Object.fromEntries(line.slice(at + 'oom-kill:'.length).trim().split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    if (fields.oom_memcg !== groupPath) continue;
    victims.push({ pid: Number(fields.pid), task: fields.task ?? '?' });
  }
  return victims;
}
