// Instants as the ISO-8601 UTC text the events table stores.

let lastMs = NaN;
let lastIso = '';

/**
 * `new Date(ms).toISOString()`, remembering the last answer: a log's lines share their
 * second, and a batch's events often their instant, so most calls are repeats (formatting
 * a Date each time was a tenth of the tailer's work). Throws on an invalid time, as Date does.
 */
export function isoOf(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

let lastText: string | null = null;
let lastParsedMs = NaN;

/**
 * `Date.parse(text)`, remembering the last answer: the contract's check and the ingest
 * path both read an event's time, and a batch's events often share it (the plugin writes
 * whole seconds), so most calls are repeats of the one before.
 */
export function msOf(text: string): number {
  if (text !== lastText) {
    lastParsedMs = Date.parse(text);
    lastText = text;
  }
  return lastParsedMs;
}
