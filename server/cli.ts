// `edgejail <command>`: the admin API's twin for a shell. This file only dispatches: each
// command lives in cli/commands/, declares its arguments, options and help there, and is
// found by its words (`bans`, `site add`). Exit codes: 0 done, 1 failed, 2 bad command line.
import { readdirSync, readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { projectPath } from './paths.ts';
import { CommandFailed, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, type Command } from './cli/command.ts';
import { commandHelp, overview } from './cli/help.ts';
import { parseCommandArgs } from './cli/parse.ts';
import { createOutput, exitQuietlyOnClosedPipe, type Output } from './cli/output.ts';

const COMMANDS_DIR = new URL('./cli/commands/', import.meta.url);
// From the sources the commands are .ts; in the bundle (dist/server/cli/commands/) .mjs.
const COMMAND_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.mjs';
const COMMAND_FILE = new RegExp(`^[a-z0-9-]+\\${COMMAND_EXT}$`);

/** The commands one file of cli/commands/ defines (its default export: one or several). */
export const commandsIn = async (file: string): Promise<Command[]> => {
  const exported = ((await import(new URL(file, COMMANDS_DIR).href)) as { default?: Command | Command[] }).default;
  if (!exported) throw new Error(`cli/commands/${file} has no default export`);
  return Array.isArray(exported) ? exported : [exported];
};

async function loadCommands(files = readdirSync(COMMANDS_DIR).filter((f) => COMMAND_FILE.test(f))): Promise<Command[]> {
  const commands: Command[] = [];
  for (const file of files.sort()) commands.push(...(await commandsIn(file)));
  return commands.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The commands of the files argv can name: a command's file is named by its first word or
 * words joined with '-' (`bans`, `site-add`, `cloudflare`). Importing only those, not all
 * two dozen with what they pull in, takes some 70 ms off `edgejail bans`. Help, errors and a
 * command in no such file still load them all.
 */
async function loadCommandsFor(argv: string[]): Promise<Command[]> {
  const present = new Set(readdirSync(COMMANDS_DIR));
  const files = [1, 2, 3].map((n) => `${argv.slice(0, n).join('-')}${COMMAND_EXT}`).filter((f, i) => i < argv.length && COMMAND_FILE.test(f) && present.has(f));
  return loadCommands(files);
}

/** The longest command whose words start argv, and the words after them. */
function findCommand(commands: readonly Command[], argv: string[]): { command: Command; rest: string[] } | null {
  for (let words = Math.min(3, argv.length); words > 0; words--) {
    const name = argv.slice(0, words).join(' ');
    const command = commands.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return null;
}

const version = () => (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;

export async function runCli(argv: string[], out: Output = createOutput()): Promise<number> {
  exitQuietlyOnClosedPipe();
  const [first, ...more] = argv;
  const direct = first !== undefined && !first.startsWith('-') ? findCommand(await loadCommandsFor(argv), argv) : null;
  const commands = direct ? [direct.command] : await loadCommands();

  if (first === undefined) {
    out.error(overview(commands));
    return EXIT_USAGE;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    out.line(`edgejail ${version()}`);
    return EXIT_OK;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    if (!more.length) return out.line(overview(commands)), EXIT_OK;
    const found = findCommand(commands, more);
    if (found && !found.rest.length) return out.line(commandHelp(found.command)), EXIT_OK;
    if (commands.some((c) => c.name.startsWith(`${more.join(' ')} `))) return out.line(overview(commands, more.join(' '))), EXIT_OK;
    out.error(`edgejail: no command "${more.join(' ')}"\n\n${overview(commands)}`);
    return EXIT_USAGE;
  }

  const found = direct ?? findCommand(commands, argv);
  if (!found) {
    const group = commands.some((c) => c.name.startsWith(`${first} `)) ? first : undefined;
    if (group && (more.length === 0 || more[0]!.startsWith('-'))) {
      // `edgejail site` or `edgejail site --help`: the group's commands.
      const asked = more.includes('--help') || more.includes('-h');
      if (asked) out.line(overview(commands, group));
      else out.error(overview(commands, group));
      return asked ? EXIT_OK : EXIT_USAGE;
    }
    const what = group ? `edgejail ${group}: unknown subcommand "${more[0]}"` : `edgejail: unknown command "${first}"`;
    out.error(`${what}\n\n${overview(commands, group)}`);
    return EXIT_USAGE;
  }

  const { command, rest } = found;
  const usage = (message: string) => {
    out.error(`edgejail ${command.name}: ${message}\n(\`edgejail ${command.name} --help\` shows its arguments and options)`);
    return EXIT_USAGE;
  };
  let parsed;
  try {
    parsed = parseCommandArgs(command, rest);
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    throw error;
  }
  if (parsed.help) return out.line(commandHelp(command)), EXIT_OK;

  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) return out.error(`edgejail: ${error.message}`), EXIT_FAILED;
    throw error;
  }
  try {
    return await command.run({ args: parsed.args, options: parsed.options, config, out });
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    if (error instanceof CommandFailed) return out.error(`edgejail: ${error.message}`), EXIT_FAILED;
    throw error;
  }
}
