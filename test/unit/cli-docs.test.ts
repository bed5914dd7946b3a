// docs/reference/cli.md stays true: every `console` block is run as written (herald on
// the PATH, no kubeconfig, an empty HOME) and must print what the page shows, and every
// flag of every command's --help is documented on the page.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heraldEntry, repoRoot } from '../support/controlplane/install.js';
import { isolatedHome, runHerald } from '../support/herald-cli.js';

const page = readFileSync(join(repoRoot, 'docs/reference/cli.md'), 'utf8');

interface Example {
  command: string;
  expected: string;
}

function consoleExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  for (const block of markdown.matchAll(/```console\n([\s\S]*?)```/g)) {
    let current: Example | undefined;
    for (const line of block[1]!.replace(/\n$/, '').split('\n')) {
      if (line.startsWith('$ ')) {
        current = { command: line.slice(2), expected: '' };
        examples.push(current);
      } else if (current) {
        current.expected += `${line}\n`;
      }
    }
  }
  return examples;
}

test('every console example on the page prints what the page shows', (t) => {
  const examples = consoleExamples(page);
  t.true(examples.length >= 7, `found ${examples.length} examples`);
  // A scratch directory that sees the repository's config/ and test/ under their own names.
  const cwd = mkdtempSync(join(tmpdir(), 'herald-docs-'));
  symlinkSync(join(repoRoot, 'config'), join(cwd, 'config'));
  symlinkSync(join(repoRoot, 'test'), join(cwd, 'test'));
  const bin = mkdtempSync(join(tmpdir(), 'herald-bin-'));
  writeFileSync(join(bin, 'herald'), `#!/bin/sh\nexec "${process.execPath}" "${heraldEntry}" "$@"\n`);
  chmodSync(join(bin, 'herald'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: isolatedHome() };
  delete env.KUBECONFIG;
  delete env.KUBERNETES_SERVICE_HOST;
  for (const example of examples) {
    const result = spawnSync('bash', ['-c', example.command], { cwd, env, encoding: 'utf8', timeout: 60_000 });
    t.is(result.stdout, example.expected, `$ ${example.command}\n${result.stderr}`);
  }
});

test('every flag of every command is documented', async (t) => {
  for (const command of [['template', 'notify'], ['trigger', 'run'], ['check'], ['import'], ['controller']]) {
    const help = await runHerald([...command, '--help']);
    t.is(help.code, 0);
    const flags = [...help.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!);
    t.true(flags.length > 0, command.join(' '));
    for (const flag of flags) t.regex(page, new RegExp(`(?<![\\w-])${flag}(?![\\w-])`), `${command.join(' ')} ${flag} is documented`);
  }
});
