// Event ids as the plugin makes them (EdgeJail_Event_Builder::event_id): version-7 UUIDs,
// Unix milliseconds first. The load should cost the service what real sites cost it, and
// where in the id index an id lands is a large part of what storing an event costs.
import { randomBytes } from 'node:crypto';

export function pluginEventId(nowMs = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
