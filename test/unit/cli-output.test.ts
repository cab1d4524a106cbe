// The CLI's table: aligned columns, the last one unpadded, and every cell inert on a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createOutput } from '../../server/cli/output.ts';

function captured() {
  let text = '';
  let writes = 0;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      writes++;
      done();
    },
  });
  return { out: createOutput(sink, sink), text: () => text, writes: () => writes };
}

test('a table pads each column to its widest cell, leaves the last unpadded, and is written at once', () => {
  const c = captured();
  c.out.table(
    [
      { id: 1, ip_key: '203.0.113.7', reason: 'five failures' },
      { id: 12, ip_key: '2001:db8::/64', reason: null },
    ],
    ['id', 'ip_key', 'reason'],
  );
  assert.equal(c.text(), ['id  ip_key         reason', '1   203.0.113.7    five failures', '12  2001:db8::/64  '].join('\n') + '\n');
  assert.equal(c.writes(), 1);
});

test("a cell cannot forge a row or act on the terminal, and an empty table says so", () => {
  const c = captured();
  c.out.table([{ user: 'eve\n1   root', ua: '\u001b]0;pwned\u0007', n: { a: 1 } }], ['user', 'ua', 'n']);
  assert.equal(c.text(), 'user             ua                n\neve\\x0a1   root  \\x1b]0;pwned\\x07  {"a":1}\n');
  c.out.table([], ['user']);
  assert.ok(c.text().endsWith('(none)\n'));
});
