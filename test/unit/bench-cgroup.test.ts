// The origin-survival bench must put the origin in a child of its own memory group, on the
// hierarchy that really carries the memory controller, and count only its own group's OOM kills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { locateMemoryParent, oomVictimsIn, parseProcCgroup } from '../../bench/lib/cgroup.ts';

// A host like the one this bench was written on: v1 controllers, and a unified mount without memory.
const HYBRID_MOUNTINFO = [
  '24 18 0:21 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '27 24 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '30 24 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '36 24 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const HYBRID_PROC = '9:name=systemd:/\n4:memory:/jobs/abc\n1:cpu:/\n0::/\n';

test('on a hybrid host the memory group is cgroup v1, a child of our own memory group', () => {
  // The unified hierarchy here lists no controllers (a path that does not exist reads as none).
  const where = locateMemoryParent(HYBRID_MOUNTINFO, HYBRID_PROC);
  assert.deepEqual(where, { version: 'v1', dir: '/sys/fs/cgroup/memory/jobs/abc', path: '/jobs/abc' });
});

test('/proc/self/cgroup is read per hierarchy, the unified one apart', () => {
  const parsed = parseProcCgroup('5:cpu,cpuacct:/a\n4:memory:/jobs/x\n0::/user.slice/session-1.scope\n');
  assert.equal(parsed.v2, '/user.slice/session-1.scope');
  assert.equal(parsed.v1.get('memory'), '/jobs/x');
  assert.equal(parsed.v1.get('cpuacct'), '/a');
});

test('without any memory hierarchy the bench says what it needs', () => {
  assert.throws(() => locateMemoryParent('27 24 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu', '1:cpu:/\n'), /needs a memory cgroup/);
});

test('only the OOM kills of our own group are counted, by victim', () => {
  const dmesg = [
    '[ 812.1] php-fpm8.2 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0',
    '[ 812.2] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/jobs/abc/edgejail-origin-survival-1-seed-off-0,task_memcg=/jobs/abc/edgejail-origin-survival-1-seed-off-0,task=mariadbd,pid=4242,uid=0',
    '[ 812.3] Memory cgroup out of memory: Killed process 4242 (mariadbd) total-vm:1200000kB',
    '[ 813.0] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/jobs/other,task_memcg=/jobs/other,task=java,pid=99,uid=0',
    '[ 814.0] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/jobs/abc/edgejail-origin-survival-1-seed-off-0,task_memcg=/jobs/abc/edgejail-origin-survival-1-seed-off-0,task=php-fpm8.2,pid=4300,uid=0',
  ].join('\n');
  assert.deepEqual(oomVictimsIn(dmesg, '/jobs/abc/edgejail-origin-survival-1-seed-off-0'), [
    { pid: 4242, task: 'mariadbd' },
    { pid: 4300, task: 'php-fpm8.2' },
  ]);
  assert.deepEqual(oomVictimsIn(dmesg, '/jobs/abc/edgejail-origin-survival-1-seed-off-1'), []);
});

// A real group on this machine (the bench needs one anyway): a bench stopped by a signal
// kills what runs inside its group and removes the group, as a finished one does.
test('a bench stopped by SIGTERM kills what runs in its memory group and removes the group', async () => {
  const script = `
    import { spawn } from 'node:child_process';
    import { writeFileSync } from 'node:fs';
    import { join } from 'node:path';
    import { createMemoryGroup } from ${JSON.stringify(new URL('../../bench/lib/cgroup.ts', import.meta.url).href)};
    const group = createMemoryGroup('edgejail-test-signal-' + process.pid, 64 * 2 ** 20);
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    writeFileSync(join(group.dir, 'cgroup.procs'), String(sleeper.pid));
    console.log(JSON.stringify({ dir: group.dir, pid: sleeper.pid }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const first = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d)));
    child.once('exit', (code) => reject(new Error(`exited ${code} before making its group: ${stderr}`)));
  });
  const { dir, pid } = JSON.parse(first) as { dir: string; pid: number };
  assert.ok(existsSync(dir), 'the group exists while the bench runs');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 143, stderr);
  assert.ok(!existsSync(dir), `${dir} is removed`);
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'what ran inside is gone');
});
