// The command table of the `herald` binary. Commands load on demand, so `herald check`
// does not pay for the Kubernetes client the controller needs. Also what every command
// does alike: --help, and a command with one subcommand (template notify, trigger run).
import { parseFlags, positionals, UsageError, type FlagSpec, type ParsedArgs } from '../flags.js';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  controller: { summary: 'Run the operator', run: async (argv) => (await import('./controller.js')).runController(argv) },
  template: {
    summary: 'Debug a NotificationTemplate: template notify TEMPLATE APP (--stdout | --channel NAME)',
    run: async (argv) => (await import('./template.js')).runTemplate(argv),
  },
  trigger: { summary: 'Debug a NotificationTrigger: trigger run TRIGGER APP', run: async (argv) => (await import('./trigger.js')).runTrigger(argv) },
  import: {
    summary: 'Convert an Argo CD notifications ConfigMap into herald resources: import FILE',
    run: async (argv) => (await import('./import.js')).runImport(argv),
  },
  check: {
    summary: 'Validate herald manifests offline (schema, CEL, templates): check FILE|DIR...',
    run: async (argv) => (await import('./check.js')).runCheck(argv),
  },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `Usage: herald <command> [flags]

herald sends Argo CD Application sync and health changes to DingTalk groups and
turns Git push webhooks into immediate Argo CD refreshes.

Commands:
${lines.join('\n')}

Run "herald <command> --help" for a command's flags.
`;
}

/** A command's flags; undefined when --help was asked for (then the help is printed). */
export function commandArgs(argv: string[], flags: readonly FlagSpec[], help: string): ParsedArgs | undefined {
  const args = parseFlags(argv, flags);
  if (!args.has('help')) return args;
  process.stdout.write(help);
  return undefined;
}

/** A command with one subcommand (template notify, trigger run): its help, flags and positional arguments. */
export interface Subcommand {
  command: string;
  name: string;
  help: string;
  flags: readonly FlagSpec[];
}

/**
 * `herald <command> <subcommand> …` for a command with one subcommand: no argument is
 * the help with exit code 2, `--help` or `help` the help, anything else a usage error;
 * then the subcommand's flags (`--help` prints the help) and exactly its positional arguments.
 */
export async function runSubcommand<const Names extends readonly string[]>(
  argv: string[],
  spec: Subcommand & { /** The positional arguments' names, as the help shows them (e.g. TRIGGER, APP). */ arguments: Names },
  run: (args: ParsedArgs, values: { [K in keyof Names]: string }) => Promise<number>,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(spec.help);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== spec.name) throw new UsageError(`unknown subcommand "${spec.command} ${sub}" (known: ${spec.name})`);
  const args = commandArgs(rest, spec.flags, spec.help);
  if (!args) return 0;
  return run(args, positionals(args, spec.arguments) as { [K in keyof Names]: string });
}
