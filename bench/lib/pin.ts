// Issue 14: the load generator must not share the service's core. On a machine with two
// or more cores the service (all its threads) goes on core 0 and the generator on core 1;
// without taskset, or on one core, both run where the kernel puts them (the report says which).
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

export const pinning = canPin ? 'service on core 0, load generator on core 1 (taskset)' : 'not pinned (no taskset or one core)';

/** Moves a running process and its threads to core 0. */
export function pinService(pid: number): void {
  if (canPin) spawnSync('taskset', ['-a', '-p', '-c', '0', String(pid)], { stdio: 'ignore' });
}

/** The command and arguments that run `args` on core 1. */
export function onGeneratorCore(command: string, args: string[]): [string, string[]] {
  return canPin ? ['taskset', ['-c', '1', command, ...args]] : [command, args];
}
