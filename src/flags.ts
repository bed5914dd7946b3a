// The one flag parser of the `herald` binary (controller and debugging commands):
// node:util parseArgs underneath, a table of flags, environment twins where a flag
// names one, and the help text generated from the same table.
import { parseArgs } from 'node:util';

export interface FlagSpec {
  name: string;
  short?: string;
  /** Placeholder shown in help (e.g. PORT); absent for boolean flags. */
  value?: string;
  repeatable?: boolean;
  default?: string;
  /** Environment variable read when the flag is not given (empty counts as unset). */
  env?: string;
  help: string;
}

export interface ParsedArgs {
  positionals: string[];
  /** Values after flags, environment and defaults; booleans as 'true' / 'false'. */
  flags: Map<string, string[]>;
  /** The last value of a flag. */
  one(name: string): string | undefined;
  /** A boolean flag that is on. */
  has(name: string): boolean;
}

/** The command line is wrong; main prints the message and points at --help (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', help: 'Show this help' };

export interface ParseOptions {
  /** Where environment twins are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Whether arguments other than flags are allowed (default true). */
  positionals?: boolean;
}

/**
 * Parses `--name value`, `--name=value`, short aliases, and for booleans `--name`,
 * `--no-name` and `--name=true|false`. Unknown flags and missing values are UsageErrors.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], options: ParseOptions = {}): ParsedArgs {
  const all = [...specs, HELP_FLAG];
  const names = new Set(all.map((spec) => spec.name));
  const booleans = new Set(all.filter((spec) => !spec.value).map((spec) => spec.name));
  const parseOptions: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const spec of all) {
    parseOptions[spec.name] = { type: spec.value ? 'string' : 'boolean', ...(spec.short ? { short: spec.short } : {}), multiple: true };
    // Node 20's parseArgs has no negation; `--no-name` is declared as a flag of its own.
    if (!spec.value && !names.has(`no-${spec.name}`)) parseOptions[`no-${spec.name}`] = { type: 'boolean', multiple: true };
  }
  let tokens: ReturnType<typeof parseArgs>['tokens'];
  let positionals: string[];
  try {
    ({ tokens, positionals } = parseArgs({ args: booleanValuesAsFlags(argv, booleans), options: parseOptions, allowPositionals: true, strict: true, tokens: true }));
  } catch (error) {
    throw new UsageError(usageMessage(error));
  }
  const given = new Map<string, string[]>();
  for (const token of tokens ?? []) {
    if (token.kind !== 'option') continue;
    const negated = !names.has(token.name) && token.name.startsWith('no-');
    const name = negated ? token.name.slice(3) : token.name;
    const value = token.value ?? (negated ? 'false' : 'true');
    given.set(name, [...(given.get(name) ?? []), value]);
  }
  if (options.positionals === false && positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const env = options.env ?? process.env;
  const flags = new Map<string, string[]>();
  for (const spec of all) {
    let values = given.get(spec.name);
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    if (values === undefined && fromEnv !== undefined && fromEnv !== '') {
      values = spec.repeatable ? splitList(fromEnv) : [fromEnv];
      if (!spec.value) values = values.map((text) => booleanText(spec.name, text, spec.env));
    }
    values ??= spec.default === undefined ? undefined : [spec.default];
    if (values !== undefined) flags.set(spec.name, values);
  }
  return {
    positionals,
    flags,
    one: (name) => flags.get(name)?.at(-1),
    has: (name) => (flags.get(name)?.at(-1) ?? 'false') === 'true',
  };
}

/** `--flag=true|false` for a boolean becomes `--flag` / `--no-flag`, which parseArgs understands. */
function booleanValuesAsFlags(argv: readonly string[], booleans: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const match = /^--([^=]+)=(.*)$/s.exec(arg);
    if (match && booleans.has(match[1]!)) out.push(booleanText(match[1]!, match[2]!) === 'true' ? `--${match[1]}` : `--no-${match[1]}`);
    else out.push(arg);
  }
  return out;
}

function booleanText(name: string, text: string, env?: string): 'true' | 'false' {
  if (/^(true|1|yes)$/i.test(text.trim())) return 'true';
  if (/^(false|0|no)$/i.test(text.trim())) return 'false';
  throw new UsageError(`--${name}${env ? ` (${env})` : ''} must be true or false, got "${text}"`);
}

/** A comma-separated list without blanks. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** node:util's messages, shortened to what a user needs. */
function usageMessage(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = e.message ?? String(error);
  const flag = /'([^']+)'/.exec(message)?.[1]?.replace(/ <value>$/, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(message)) return `flag ${flag} needs a value`;
      if (/ambiguous/.test(message)) return `flag ${flag} needs a value (write ${flag}=VALUE for a value that starts with -)`;
      return `flag ${flag} takes no value`;
    default:
      return message.split('\n')[0]!;
  }
}

/** The flag table of a help text: names, placeholder, then the wrapped description. */
export function flagsHelp(specs: readonly FlagSpec[]): string {
  return [...specs, HELP_FLAG]
    .map((spec) => {
      const names = `${spec.short ? `-${spec.short}, ` : '    '}--${spec.name}${spec.value ? ` ${spec.value}` : ''}`;
      const def = spec.default !== undefined && spec.default !== '' ? ` (default ${spec.default})` : '';
      const repeat = spec.repeatable ? ' (repeatable)' : '';
      const env = spec.env ? ` [env ${spec.env}]` : '';
      return `  ${names}\n${wrap(`${spec.help}${def}${repeat}${env}`, 8, 80)}`;
    })
    .join('\n');
}

/** Word-wraps `text` to `width` columns, each line indented by `indent` spaces. */
export function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`).join('\n');
}

/** Exactly the positional arguments named in `names`, or a UsageError saying which is missing. */
export function positionals(args: ParsedArgs, names: readonly string[]): string[] {
  if (args.positionals.length < names.length) throw new UsageError(`missing argument ${names[args.positionals.length]}`);
  if (args.positionals.length > names.length) throw new UsageError(`unexpected argument "${args.positionals[names.length]}"`);
  return args.positionals;
}

/** `key=value` pairs (e.g. --context) into a map; a malformed pair is a UsageError. */
export function keyValues(flag: string, pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} needs key=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** An integer flag within bounds, or a UsageError naming the flag. */
export function integerFlag(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer between ${min} and ${max}, got "${text}"`);
  }
  return value;
}
