// The checks behind test/unit/docs.test.ts and test/integration/docs.test.ts: each
// command line of the docs is classified, its command, flags and paths are checked,
// and the lines that can run here are run, block by block, in a scratch directory
// that looks like a checkout (every top-level entry of the repository linked in, plus
// the files a block reads that a user would have fetched first).
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { heraldEntry, repoRoot } from '../controlplane/install.js';
import { commandLines, type CodeBlock, type CommandLine } from './markdown.js';

// ---------------------------------------------------------------------------
// herald's own help: commands, subcommands and flags

export interface HeraldHelp {
  /** Literal words of the usage line after `herald`, e.g. ['template', 'notify']. */
  usage: string[];
  flags: Set<string>;
  text: string;
}

const HERALD = heraldEntry;
const helpCache = new Map<string, HeraldHelp | undefined>();

/** `herald <command> --help`, parsed; undefined when there is no such command. */
export function heraldHelp(command: string): HeraldHelp | undefined {
  if (helpCache.has(command)) return helpCache.get(command);
  const result = spawnSync(process.execPath, [HERALD, command, '--help'], { encoding: 'utf8', timeout: 30_000 });
  let help: HeraldHelp | undefined;
  if (result.status === 0 && /^Usage: herald /m.test(result.stdout)) {
    const usageLine = /^Usage: herald (.*)$/m.exec(result.stdout)![1]!;
    const usage: string[] = [];
    for (const word of usageLine.split(/\s+/)) {
      if (!/^[a-z][a-z-]*$/.test(word)) break;
      usage.push(word);
    }
    const flags = new Set<string>(['--help', '-h']);
    for (const line of result.stdout.split('\n')) {
      const match = /^\s+(?:(-[a-zA-Z]),\s+)?(--[a-z0-9-]+)/.exec(line);
      if (match) {
        if (match[1]) flags.add(match[1]);
        flags.add(match[2]!);
      }
    }
    help = { usage, flags, text: result.stdout };
  }
  helpCache.set(command, help);
  return help;
}

/** Words after leading `VAR=value` assignments; `node build/bundle/herald.js` (or the unbundled `build/src/main.js`) counts as `herald`. */
export function commandWords(words: string[]): string[] {
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
  const rest = words.slice(i);
  if (rest[0] === 'node' && (rest[1] === 'build/bundle/herald.js' || rest[1] === 'build/src/main.js')) return ['herald', ...rest.slice(2)];
  if (rest[0] === 'npx' && rest[1] === 'herald') return rest.slice(1);
  return rest;
}

/** Problems with a `herald …` command line: unknown command, subcommand or flag. */
export function heraldLineProblems(words: string[]): string[] {
  const command = words[1];
  if (command === undefined) return ['`herald` without a command'];
  if (command === '--help' || command === '-h' || command === 'help' || command === '--version' || command === 'version') return [];
  const help = heraldHelp(command);
  if (!help) return [`herald has no command "${command}"`];
  const problems: string[] = [];
  help.usage.forEach((word, i) => {
    if (words[1 + i] !== word && !words.includes('--help')) problems.push(`expected \`herald ${help.usage.join(' ')} …\`, got \`${words.slice(0, 1 + help.usage.length).join(' ')}\``);
  });
  for (const word of words.slice(2)) {
    if (!word.startsWith('-') || word === '-') continue;
    const flag = word.split('=')[0]!;
    const positive = flag.startsWith('--no-') ? `--${flag.slice(5)}` : flag;
    if (!help.flags.has(flag) && !help.flags.has(positive)) problems.push(`\`herald ${help.usage.join(' ')}\` has no flag ${flag}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Makefile targets, paths

export function makeTargets(): Set<string> {
  const text = readFileSync(join(repoRoot, 'Makefile'), 'utf8');
  return new Set([...text.matchAll(/^([a-zA-Z0-9_.-]+)\s*:(?!=)/gm)].map((m) => m[1]!));
}

/** A word that stands for "fill in your own" rather than a real value. */
export const isPlaceholder = (word: string) => /[<>…]|REPLACE_ME/.test(word);

/** Values of the given flags (`-f x`, `-f=x`, `--filename=x`). */
export function flagValues(words: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    for (const name of names) {
      if (word === name && words[i + 1] !== undefined) out.push(words[i + 1]!);
      else if (word.startsWith(`${name}=`)) out.push(word.slice(name.length + 1));
    }
  }
  return out;
}

function pathExists(path: string, written: Set<string>): boolean {
  const clean = path.replace(/\/+$/, '');
  if (written.has(clean)) return true;
  for (const w of written) if (clean.startsWith(`${w}/`)) return true;
  return existsSync(isAbsolute(path) ? path : join(repoRoot, path));
}

/** The files a herald line reads: -f, --crds, and the positional files of check and import. */
export function heraldInputs(words: string[]): string[] {
  const inputs = [...flagValues(words, ['-f', '--filename', '--crds'])];
  const valued = ['-o', '--output', '-n', '--namespace', '-f', '--filename', '--crds'];
  if (words[1] === 'check' || words[1] === 'import') {
    inputs.push(...words.slice(2).filter((w, i, all) => !w.startsWith('-') && !valued.includes(all[i - 1] ?? '')));
  }
  return inputs.filter((path) => path !== '-');
}

/** Files and directories a line writes: redirections, and `herald import -o DIR`. */
export function writesOf(line: CommandLine): string[] {
  const words = commandWords(line.words);
  const out = [...line.writes];
  if (words[0] === 'herald' && words[1] === 'import') out.push(...flagValues(words, ['-o', '--output']).filter((v) => v !== '-'));
  return out.map((p) => p.replace(/\/+$/, ''));
}

// ---------------------------------------------------------------------------
// Classifying and checking one command line (no cluster)

/** Commands a doc may use besides herald, kubectl, make, node and npm; each with what is checked. */
const OTHER_COMMANDS: Record<string, string> = {
  docker: 'docker build: the build context and its Dockerfile exist',
  grep: 'a filter in a pipeline',
  head: 'a filter in a pipeline',
  curl: 'reads herald endpoints; the ports are those of docs/install.md',
  cd: 'the directory exists (or is a placeholder)',
  export: 'sets a variable',
  git: 'a git command',
  openssl: 'generates a random secret',
  echo: 'prints (e.g. the exit code of the command before it)',
};

export interface LineCheck {
  line: CommandLine;
  kind: 'herald' | 'kubectl' | 'make' | 'node' | 'npm' | 'other';
  problems: string[];
}

/** Static checks of every command line of a block; `written` collects what earlier lines wrote. */
export function checkBlockLines(block: CodeBlock): LineCheck[] {
  const written = new Set<string>();
  const targets = makeTargets();
  const scripts = Object.keys((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {});
  const checks: LineCheck[] = [];
  for (const line of commandLines(block)) {
    const words = commandWords(line.words);
    const problems: string[] = [];
    let kind: LineCheck['kind'] = 'other';
    const command = words[0] ?? '';
    if (command === 'herald') {
      kind = 'herald';
      problems.push(...heraldLineProblems(words));

    } else if (command === 'kubectl') {
      kind = 'kubectl';
      for (const path of flagValues(words, ['-f', '--filename', '-k', '--kustomize'])) {
        if (path === '-' || /^https?:\/\//.test(path) || isPlaceholder(path)) continue;
        if (!pathExists(path, written)) problems.push(`kubectl path ${path} does not exist`);
      }
    } else if (command === 'make') {
      kind = 'make';
      for (const target of words.slice(1).filter((w) => !w.startsWith('-') && !w.includes('='))) {
        if (!targets.has(target)) problems.push(`the Makefile has no target ${target}`);
      }
    } else if (command === 'node') {
      kind = 'node';
      const script = words[1] ?? '';
      const source = script.replace(/^build\//, '').replace(/\.js$/, '.ts');
      if (!script.startsWith('build/') || !existsSync(join(repoRoot, source))) problems.push(`node script ${script} has no source ${source}`);
    } else if (command === 'npm') {
      kind = 'npm';
      const sub = words[1];
      if (sub === 'run' && !scripts.includes(words[2] ?? '')) problems.push(`package.json has no script ${words[2]}`);
      else if (!['ci', 'install', 'link', 'run', 'test'].includes(sub ?? '')) problems.push(`unexpected npm command ${sub}`);
    } else if (command in OTHER_COMMANDS) {
      if (command === 'docker') {
        if (words[1] !== 'build') problems.push('only `docker build` is expected');
        const context = words.at(-1) ?? '.';
        if (!existsSync(join(repoRoot, context, 'Dockerfile'))) problems.push(`no Dockerfile in ${context}`);
      }
      if (command === 'cd' && words[1] && !isPlaceholder(words[1]) && !pathExists(words[1], written)) problems.push(`cd: ${words[1]} does not exist`);
    } else {
      problems.push(`unknown command "${command}": the docs test does not know how to check it (add a check to test/support/docs/checks.ts)`);
    }
    for (const path of writesOf(line)) written.add(path);
    checks.push({ line, kind, problems });
  }
  return checks;
}

// ---------------------------------------------------------------------------
// Running a block's lines in a scratch checkout

/** Files a block reads that a user fetched first (from their cluster); stand-ins from test/fixtures. */
export const SEEDED: Record<string, string> = {
  'argocd-notifications-cm.yaml': 'test/fixtures/import/argocd-notifications-cm.yaml',
  'guestbook.yaml': 'test/fixtures/cli/guestbook.yaml',
};

export interface Workdir {
  dir: string;
  dispose(): void;
}

/** A temp directory with every top-level entry of the repository linked in, and SEEDED copied. */
export function scratchCheckout(): Workdir {
  const dir = mkdtempSync(join(tmpdir(), 'herald-docs-'));
  for (const entry of readdirSync(repoRoot)) {
    if (entry === '.git' || entry in SEEDED) continue;
    symlinkSync(join(repoRoot, entry), join(dir, entry));
  }
  for (const [name, source] of Object.entries(SEEDED)) copyFileSync(join(repoRoot, source), join(dir, name));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunResult {
  line: CommandLine;
  argv: string[];
  status: number | null;
  stdout: string;
  stderr: string;
}

/** herald lines that need no cluster: check, import, and template/trigger with -f. */
export function runsOffline(words: string[], workdir?: Workdir): boolean {
  if (words[0] !== 'herald') return false;
  if (words.some(isPlaceholder) || words.includes('-') || words.includes('--help')) return false;
  // Paths of the reader's own repository (say, `herald check notifications/`) cannot run here.
  if (workdir && heraldInputs(words).some((path) => !existsSync(join(workdir.dir, path)))) return false;
  if (words[1] === 'check' || words[1] === 'import') return true;
  if ((words[1] === 'template' || words[1] === 'trigger') && flagValues(words, ['-f', '--filename']).length > 0) {
    // --channel without --stdout would send to the robot of the file's Secret.
    return !words.includes('--channel') || words.includes('--stdout');
  }
  return false;
}

/** Runs `herald …` (offline) in the scratch checkout; output redirection to a file is honoured. */
export async function runHeraldLine(line: CommandLine, workdir: Workdir): Promise<RunResult> {
  const words = commandWords(line.words);
  const argv = words.slice(1);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: workdir.dir };
  delete env.KUBECONFIG;
  const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [HERALD, ...argv], { cwd: workdir.dir, encoding: 'utf8', env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
  for (const file of line.writes) writeFileSync(join(workdir.dir, file), result.stdout);
  return { line, argv, ...result };
}

/** Every shell line of the docs and the block it belongs to. */
export function shellBlocks(blocks: CodeBlock[]): CodeBlock[] {
  return blocks.filter((block) => commandLines(block).length > 0);
}
