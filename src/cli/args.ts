// Argument parsing for the debugging commands: long flags, a few short aliases,
// positional arguments, and a help text generated from the same table.
import { parseArgs } from 'node:util';
import { UsageError } from '../config.js';

export interface CliFlag {
  name: string;
  short?: string;
  /** Placeholder shown in help; absent for boolean flags. */
  value?: string;
  repeatable?: boolean;
  default?: string;
  help: string;
}

export interface ParsedArgs {
  positionals: string[];
  /** Flag values; booleans as 'true'. Defaults applied. */
  flags: Map<string, string[]>;
  one(name: string): string | undefined;
  has(name: string): boolean;
}

const HELP_FLAG: CliFlag = { name: 'help', short: 'h', help: 'Show this help' };

/** Parses argv against `specs`; throws UsageError for unknown flags or missing values. */
export function parseCli(argv: string[], specs: readonly CliFlag[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const spec of [...specs, HELP_FLAG]) {
    options[spec.name] = { type: spec.value ? 'string' : 'boolean', ...(spec.short ? { short: spec.short } : {}), ...(spec.repeatable ? { multiple: true } : {}) };
  }
  let parsed: { values: Record<string, string | boolean | Array<string | boolean> | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(usageMessage(error));
  }
  const flags = new Map<string, string[]>();
  for (const spec of [...specs, HELP_FLAG]) {
    const value = parsed.values[spec.name];
    if (value === undefined) {
      if (spec.default !== undefined) flags.set(spec.name, [spec.default]);
      continue;
    }
    const list = (Array.isArray(value) ? value : [value]).map(String);
    flags.set(spec.name, list);
  }
  return {
    positionals: parsed.positionals,
    flags,
    one: (name) => flags.get(name)?.at(-1),
    has: (name) => flags.has(name) && flags.get(name)!.at(-1) !== 'false',
  };
}

/** node:util's messages, shortened to what a user needs. */
function usageMessage(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = e.message ?? String(error);
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      return `unknown flag ${flag}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /'([^']+)'/.exec(message)?.[1]?.replace(/ <value>$/, '') ?? '';
      return /argument missing/.test(message) ? `flag ${flag} needs a value` : `flag ${flag} takes no value`;
    }
    default:
      return message.split('\n')[0]!;
  }
}

/** The flag table of a help text. */
export function cliFlagsHelp(specs: readonly CliFlag[]): string {
  return [...specs, HELP_FLAG]
    .map((spec) => {
      const names = `${spec.short ? `-${spec.short}, ` : '    '}--${spec.name}${spec.value ? ` ${spec.value}` : ''}`;
      const def = spec.default !== undefined && spec.default !== '' ? ` (default ${spec.default})` : '';
      const repeat = spec.repeatable ? ' (repeatable)' : '';
      return `  ${names}\n${wrap(`${spec.help}${def}${repeat}`, 8, 80)}`;
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

/** Exactly `count` positional arguments named in `names`, or a UsageError saying which is missing. */
export function positionals(args: ParsedArgs, names: readonly string[]): string[] {
  if (args.positionals.length < names.length) throw new UsageError(`missing argument ${names[args.positionals.length]}`);
  if (args.positionals.length > names.length) throw new UsageError(`unexpected argument "${args.positionals[names.length]}"`);
  return args.positionals;
}

/** `--context key=value` pairs into a map; a malformed pair is a UsageError. */
export function keyValues(flag: string, pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} needs key=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
