// Event ids as the plugin makes them (EdgeJail_Event_Builder::event_id): version-7 UUIDs,
// Unix milliseconds first. The load should cost the service what real sites cost it, and
// where in the id index an id lands is a large part of what storing an event costs.
import { randomFillSync } from 'node:crypto';

// Random bytes drawn 256 ids at a time: one randomBytes(16) an id was a tenth of the load
// generator's CPU under overload, where its own delays are timed as the service's.
const pool = Buffer.alloc(16 * 256);
let taken = pool.length;

export function pluginEventId(nowMs = Date.now()): string {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const bytes = pool.subarray(taken, (taken += 16));
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
