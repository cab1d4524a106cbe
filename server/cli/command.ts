// What a CLI command is: its words, its arguments and options (which are also its help),
// and what it does. Each command is one module under cli/commands/ that default-exports
// one command or a list of them; the dispatcher finds them there, so adding a command
// touches no other file.
import type { Config } from '../config/schema.ts';
import type { Output } from './output.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help: `--for <duration>`. */
  value?: string;
  description: string;
  /**
   * Free text: the words after the value, up to the next option, belong to it, so
   * `--reason spotted in access log` keeps the whole reason without quotes.
   */
  joinsWords?: boolean;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  /** The last positional only: it takes every remaining word, joined by NUL (see restOf). */
  readonly variadic?: boolean;
}

/** The words a variadic positional took. */
export const restOf = (value: string | undefined): string[] => (value ? value.split('\u0000') : []);

type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K]['type'] extends 'string' ? string | undefined : boolean;
};
type PositionalValues<P extends readonly PositionalSpec[]> = { [K in P[number]['name']]: string | undefined };

export interface CommandInput<O extends Record<string, OptionSpec>, P extends readonly PositionalSpec[]> {
  args: PositionalValues<P>;
  options: OptionValues<O>;
  config: Config;
  out: Output;
}

export interface CommandSpec<O extends Record<string, OptionSpec>, P extends readonly PositionalSpec[]> {
  /** The words that select it: `bans`, `site add`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Paragraphs for `edgejail <command> --help`. */
  description?: string;
  positionals?: P;
  options?: O;
  examples?: string[];
  run(input: CommandInput<O, P>): number | Promise<number>;
}

/** A command with its types erased, as the dispatcher holds it. */
export interface Command {
  name: string;
  summary: string;
  description?: string;
  positionals: readonly PositionalSpec[];
  options: Record<string, OptionSpec>;
  examples: string[];
  run(input: { args: Record<string, string | undefined>; options: Record<string, string | boolean | undefined>; config: Config; out: Output }): number | Promise<number>;
}

export function defineCommand<const O extends Record<string, OptionSpec> = {}, const P extends readonly PositionalSpec[] = []>(spec: CommandSpec<O, P>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    description: spec.description,
    positionals: spec.positionals ?? [],
    options: spec.options ?? {},
    examples: spec.examples ?? [],
    run: spec.run as Command['run'],
  };
}

/** The command line was wrong: exit 2, with a pointer to the command's help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command ran and could not do what was asked: exit 1 with this message. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
