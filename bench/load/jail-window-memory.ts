// Issue 14's `jail_window_bytes_per_key`: the jail engine's memory per tracked IP key, over
// 100,000 keys with one failed login each (a botnet's first pass, the common shape), with
// each event named by its seq (as ingest stores it) and usernames as the plugin sends them. Runs in its own process under
// --expose-gc so the heap before and after is measured after full collections.
// Prints one JSON line.
import { createJailState, observeEvent } from '../../server/jail/engine.ts';
import { DEFAULT_JAILS_CONFIG } from '../../server/jail/jail-config.ts';
import { benchIp } from '../lib/addresses.ts';

const keys = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const USERS = ['admin', 'Administrator', 'alice', 'test'];
const now = Date.now();
const collect = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const before = collect();
const state = createJailState(DEFAULT_JAILS_CONFIG, { maxTrackedKeys: keys });
for (let i = 0; i < keys; i++) {
  // Parsed from the request as ingest does, so the strings are the ones a real event holds.
  const event = JSON.parse(JSON.stringify({ seq: i + 1, siteId: 'site-1', type: 'login_failed', ipKey: benchIp(i), username: USERS[i % USERS.length], weight: 1, occurredAtMs: now }));
  observeEvent(state, event, now);
}
// The slots live in resizable ArrayBuffers, outside the JS heap and outside
// process.memoryUsage(): the stores count their own committed bytes.
const after = collect() + state.jails.reduce((n, jail) => n + jail.windows.slotBytes(), 0) + state.bans.slotBytes();
const tracked = state.jails.reduce((n, jail) => n + jail.windows.size, 0);
process.stdout.write(`${JSON.stringify({ keys: tracked, bytes_per_key: Math.round((after - before) / tracked) })}\n`);
