// Everything the CLI prints goes through here: values from attackers (usernames, user
// agents, paths) and from Cloudflare are escaped before they reach a terminal, and a
// reader that closes the pipe early (`edgejail bans | head`) ends the command quietly.
import { escapeForTerminal, escapeTerminalText, terminalSafeJson } from '../shared/terminal.ts';

export interface Output {
  /** A line of our own text; values in it are escaped, line breaks kept. */
  line(text?: string): void;
  /** Machine-readable output: JSON, with the characters a terminal acts on escaped. */
  json(value: unknown): void;
  /** Rows as aligned columns; every cell escaped, newlines too, so no cell forges a row. */
  table(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): void;
  /** `label   value` pairs, aligned. */
  fields(pairs: ReadonlyArray<readonly [string, unknown]>): void;
  /** A message for the person, on stderr. */
  error(text: string): void;
}

const cell = (value: unknown): string => escapeForTerminal(value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));

export function createOutput(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  const write = (text: string) => void stdout.write(text);
  return {
    line: (text = '') => write(`${escapeTerminalText(text)}\n`),
    json: (value) => write(`${terminalSafeJson(JSON.stringify(value, null, 2))}\n`),
    table(rows, columns) {
      if (!rows.length) return write('(none)\n');
      // Flat, and a line built by concatenation: per-row arrays and joins were most of the
      // time `edgejail bans` took over 10,000 bans, and much of its garbage.
      const n = columns.length;
      const cells: string[] = new Array((rows.length + 1) * n);
      const widths = columns.map((c) => c.length);
      for (let i = 0; i < n; i++) cells[i] = columns[i]!;
      let k = n;
      for (const row of rows) {
        for (let i = 0; i < n; i++) {
          const text = cell(row[columns[i]!]);
          cells[k++] = text;
          if (text.length > widths[i]!) widths[i] = text.length;
        }
      }
      let out = '';
      for (let r = 0; r < cells.length; r += n) {
        for (let i = 0; i < n - 1; i++) out += `${cells[r + i]!.padEnd(widths[i]!)}  `;
        out += `${cells[r + n - 1]!}\n`;
      }
      // One write for the whole table: a reader that quits early costs one EPIPE, not thousands.
      write(out);
    },
    fields(pairs) {
      const width = Math.max(...pairs.map(([label]) => label.length));
      write(`${pairs.map(([label, value]) => `${label.padEnd(width)}  ${cell(value)}`).join('\n')}\n`);
    },
    error: (text) => void stderr.write(`${escapeTerminalText(text)}\n`),
  };
}

/**
 * A closed stdout (the reader exited) is the reader's choice, not our failure: stop at
 * once and quietly, as Unix tools do, instead of an unhandled EPIPE stack trace.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
