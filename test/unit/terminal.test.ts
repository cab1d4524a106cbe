import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeForTerminal, escapeTerminalText, terminalSafeJson } from '../../server/shared/terminal.ts';

test('C0, DEL, C1 and bidi controls are shown escaped, never passed to the terminal', () => {
  assert.equal(escapeForTerminal('\x1b]0;pwned\x07\x1b[31m'), '\\x1b]0;pwned\\x07\\x1b[31m');
  assert.equal(escapeForTerminal('a\x00b\x7fc\x9bd'), 'a\\x00b\\x7fc\\x9bd');
  assert.equal(escapeForTerminal('tab\there\r\nnext'), 'tab\\x09here\\x0d\\x0anext');
  assert.equal(escapeForTerminal('user\u202egnp.exe\u2066\u2069\u200f\u061c'), 'user\\u{202e}gnp.exe\\u{2066}\\u{2069}\\u{200f}\\u{61c}');
  assert.equal(escapeForTerminal('line\u2028sep'), 'line\\u{2028}sep');
});

test('printable text of any script passes unchanged', () => {
  for (const text of ['admin', 'Jürgen Müller', 'пользователь', '管理员', 'مدير', '🙂 emoji', 'quote\'s "and" \\backslash']) {
    assert.equal(escapeForTerminal(text), text);
  }
});

test('whole lines keep their line breaks but nothing else', () => {
  assert.equal(escapeTerminalText('one\ntwo\x1b[2J'), 'one\ntwo\\x1b[2J');
});

test('JSON stays the same JSON, with C1, DEL and bidi as \\u escapes', () => {
  const value = { username: '\x1b[31m\x9b\x7f\u202e\u2028', ok: 'Jürgen' };
  const safe = terminalSafeJson(JSON.stringify(value));
  assert.doesNotMatch(safe, /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2028]/);
  assert.deepEqual(JSON.parse(safe), value);
});
