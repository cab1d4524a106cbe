// Text that reaches a terminal: attackers choose usernames, user agents and paths, and a
// raw ESC or C1 byte in them can retitle the window, recolour or hide lines, or (bidi
// overrides) make one IP read as another. Shown escaped, they stay visible and inert.

// C0 (with TAB, LF and CR), DEL, C1, the bidi embeddings/overrides/isolates and marks,
// and the Unicode line and paragraph separators.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same, but keeping LF: for whole lines of our own text, where LF is structure.
const UNSAFE_KEEP_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escapeOne = (ch: string): string => {
  const code = ch.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
};

/** One value (a table cell, a field): every control character escaped, newlines too. */
export function escapeForTerminal(value: string): string {
  return value.replace(UNSAFE, escapeOne);
}

/** Lines of output: controls escaped, but LF kept as the line break it is. */
export function escapeTerminalText(text: string): string {
  return text.replace(UNSAFE_KEEP_NEWLINE, escapeOne);
}

// JSON.stringify already escapes C0, but passes DEL, C1 and bidi controls through raw.
// Outside strings JSON is plain ASCII, so replacing them anywhere keeps the same JSON.
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON text that parses to the same value and prints inertly on a terminal. */
export function terminalSafeJson(json: string): string {
  return json.replace(JSON_UNSAFE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
