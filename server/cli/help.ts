// Help text built from the commands' own declarations, so it cannot drift from what
// the parser accepts.
import type { Command, OptionSpec } from './command.ts';
import { HELP_OPTION } from './parse.ts';

const ENVIRONMENT = `Environment: EDGEJAIL_CONFIG, EDGEJAIL_DATA_DIR, EDGEJAIL_HOST, EDGEJAIL_PORT, EDGEJAIL_ADMIN_HOST,
EDGEJAIL_ADMIN_PORT, EDGEJAIL_METRICS_LISTEN, EDGEJAIL_ADMIN_TOKEN, EDGEJAIL_LOG_LEVEL,
CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_ZONE_ID, EDGEJAIL_CF_BACKEND.`;

export function synopsis(command: Command): string {
  const args = command.positionals.map((p) => (p.optional ? `[<${p.name}>]` : `<${p.name}>`));
  const hasOptions = Object.keys(command.options).length > 0;
  return ['edgejail', command.name, ...args, ...(hasOptions ? ['[options]'] : [])].join(' ');
}

function aligned(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

const optionLabel = (name: string, spec: OptionSpec) => `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}`;

export function commandHelp(command: Command): string {
  const lines = [`usage: ${synopsis(command)}`, '', command.summary];
  if (command.description) lines.push('', command.description);
  if (command.positionals.length) {
    lines.push('', 'arguments:', ...aligned(command.positionals.map((p) => [`<${p.name}>`, `${p.description}${p.optional ? ' (optional)' : ''}`])));
  }
  const options: Array<[string, OptionSpec]> = [...Object.entries(command.options), ['help', HELP_OPTION]];
  lines.push('', 'options:', ...aligned(options.map(([name, spec]) => [optionLabel(name, spec), spec.description])));
  if (command.examples.length) lines.push('', 'examples:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** The command list; with a group (`site`), only that group's commands. */
export function overview(commands: readonly Command[], group?: string): string {
  const shown = group ? commands.filter((c) => c.name.startsWith(`${group} `)) : commands;
  const rows = shown.map((c): [string, string] => [synopsis(c).replace(/^edgejail /, '').replace(/ \[options\]$/, ''), c.summary]);
  return [
    `usage: edgejail ${group ?? '<command>'} ${group ? '<subcommand> ' : ''}[options]`,
    '',
    'commands:',
    ...aligned(rows),
    '',
    `\`edgejail <command> --help\` shows a command's options; \`edgejail --version\` the version.`,
    ...(group ? [] : ['', ENVIRONMENT]),
  ].join('\n');
}
