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
      const cells = rows.map((row) => columns.map((c) => cell(row[c])));
      const widths = columns.map((c) => c.length);
      for (const r of cells) for (let i = 0; i < r.length; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
      const render = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
      // One write for the whole table: a reader that quits early costs one EPIPE, not thousands.
      write(`${[render([...columns]), ...cells.map(render)].join('\n')}\n`);
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
