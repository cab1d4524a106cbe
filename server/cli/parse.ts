// One command's argv → its arguments and options, through node:util parseArgs in strict
// mode: an unknown option, a missing value or a stray word is refused, never ignored.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type Command, type OptionSpec } from './command.ts';

export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

export interface ParsedCommand {
  args: Record<string, string | undefined>;
  options: Record<string, string | boolean | undefined>;
  help: boolean;
}

export function parseCommandArgs(command: Command, argv: string[]): ParsedCommand {
  const specs: Record<string, OptionSpec> = { ...command.options, help: HELP_OPTION };
  const config: ParseArgsConfig['options'] = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, { type: spec.type, ...(spec.short ? { short: spec.short } : {}) }]),
  );

  // A lenient pass first, to name every unknown option at once rather than the first.
  const loose = parseArgs({ args: argv, options: config, strict: false, allowPositionals: true, tokens: true });
  const unknown = [...new Set(loose.tokens.filter((t) => t.kind === 'option' && !Object.hasOwn(specs, t.name)).map((t) => (t as { rawName: string }).rawName))];
  if (unknown.length) throw new UsageError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);

  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const options: Record<string, string | boolean | undefined> = { ...parsed.values } as Record<string, string | boolean | undefined>;
  if (options.help) return { args: {}, options, help: true };

  // Words right after a free-text option's value continue it, up to the next option.
  const positionals: string[] = [];
  let joining: string | null = null;
  for (const token of parsed.tokens) {
    if (token.kind === 'option') joining = Object.hasOwn(specs, token.name) && specs[token.name]!.joinsWords ? token.name : null;
    else if (token.kind === 'option-terminator') joining = null;
    else if (joining) options[joining] = `${options[joining] as string} ${token.value}`;
    else positionals.push(token.value);
  }

  const args: Record<string, string | undefined> = {};
  command.positionals.forEach((spec, i) => (args[spec.name] = spec.variadic ? positionals.slice(i).join('\u0000') || undefined : positionals[i]));
  const missing = command.positionals.filter((spec) => !spec.optional && (args[spec.name] === undefined || args[spec.name] === ''));
  if (missing.length) {
    throw new UsageError(`missing ${missing.map((m) => `<${m.name}>, ${m.description}`).join('; and ')}`);
  }
  const extra = command.positionals.at(-1)?.variadic ? [] : positionals.slice(command.positionals.length);
  if (extra.length) {
    const quoting = Object.values(command.options).some((o) => o.type === 'string') ? '; quote a value that has spaces' : '';
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((w) => `"${w}"`).join(' ')}${quoting}`);
  }
  return { args, options, help: false };
}
