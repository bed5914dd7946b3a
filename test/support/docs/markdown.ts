// Reading the user documentation the way the docs tests check it: which files are
// docs, their fenced code blocks (with the `<!-- partial -->` marker), the command
// lines in shell blocks split into words, links, and GitHub's heading anchors.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../controlplane/install.js';

/** README.md, README.zh-CN.md and every Markdown file under docs/, repository-relative. */
export function docFiles(root = repoRoot): string[] {
  const files = ['README.md', 'README.zh-CN.md'].filter((file) => existsSync(join(root, file)));
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir)).sort()) {
      const path = join(dir, entry);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (entry.endsWith('.md')) files.push(path);
    }
  };
  if (existsSync(join(root, 'docs'))) walk('docs');
  return files;
}

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, lower case ('' when none). */
  lang: string;
  text: string;
  /** Marked with `<!-- partial -->` (or `<!-- partial: why -->`) on the line before. */
  partial: boolean;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;

export function codeBlocks(file: string, text = readFileSync(join(repoRoot, file), 'utf8')): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim().startsWith(fence[0]!.repeat(fence.length)) && line.trim().replace(new RegExp(`^\\${fence[0]}+`), '').trim() === '') break;
      body.push(indent > 0 ? line.replace(new RegExp(`^ {0,${indent}}`), '') : line);
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const partial = k >= 0 && /^<!--\s*partial\b.*-->$/.test(lines[k]!.trim());
    blocks.push({ file, line: i + 1, lang: (open[3] ?? '').toLowerCase(), text: body.join('\n'), partial });
    i = j;
  }
  return blocks;
}

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
export const YAML_LANGS = new Set(['yaml', 'yml']);

export interface CommandLine {
  file: string;
  /** 1-based line in the file. */
  line: number;
  /** The whole logical line (continuations joined, comment removed). */
  text: string;
  /** One simple command of it (split at |, &&, ||, ;), as words. */
  words: string[];
  /** Files the line writes with > or >>. */
  writes: string[];
}

/** Splits a shell line into words: quotes, backslash escapes; `<placeholder>` stays a word. */
export function shellWords(text: string): string[][] {
  const commands: string[][] = [[]];
  let word: string | undefined;
  const push = () => {
    if (word !== undefined) commands.at(-1)!.push(word);
    word = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? '') + text.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? text.length : end;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length) value += text[++j];
        else value += text[j];
      }
      word = (word ?? '') + value;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (c === '#' && word === undefined) {
      break; // a comment
    } else if (/\s/.test(c)) {
      push();
    } else if (c === '|' || c === ';' || (c === '&' && text[i + 1] === '&')) {
      push();
      if ((c === '|' && text[i + 1] === '|') || c === '&') i++;
      commands.push([]);
    } else {
      word = (word ?? '') + c;
    }
  }
  push();
  return commands.filter((command) => command.length > 0);
}

/** The command lines of a shell block: `$ ` prompts in console blocks, continuations joined. */
export function commandLines(block: CodeBlock): CommandLine[] {
  if (!SHELL_LANGS.has(block.lang)) return [];
  const out: CommandLine[] = [];
  const lines = block.text.split('\n');
  const promptOnly = block.lang === 'console';
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    const start = i;
    if (promptOnly) {
      if (!/^\s*\$ /.test(raw)) continue;
      raw = raw.replace(/^\s*\$ /, '');
    }
    while (raw.endsWith('\\') && i + 1 < lines.length) raw = `${raw.slice(0, -1)} ${lines[++i]!.trim()}`;
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    for (const words of shellWords(raw)) {
      const writes: string[] = [];
      const kept: string[] = [];
      for (let w = 0; w < words.length; w++) {
        const word = words[w]!;
        const redirect = /^(\d?)(>>?)(.*)$/.exec(word);
        if (!redirect || word.startsWith('>=')) {
          kept.push(word);
          continue;
        }
        let target = redirect[3]!;
        if (target === '' && words[w + 1] !== undefined) target = words[++w]!;
        // stderr, fd duplication (2>&1) and /dev/null write no file of the block's.
        if (redirect[1] === '2' || target.startsWith('&') || target.startsWith('/dev/')) continue;
        writes.push(target);
      }
      if (kept.length > 0) out.push({ file: block.file, line: block.line + 1 + start, text: raw.trim(), words: kept, writes });
    }
  }
  return out;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** Markdown links and images outside code, with their targets. */
export function links(file: string, text = readFileSync(join(repoRoot, file), 'utf8')): Link[] {
  const out: Link[] = [];
  let inFence = false;
  text.split('\n').forEach((line, index) => {
    if (FENCE.test(line)) {
      inFence = !inFence;
      return;
    }
    if (inFence) return;
    const plain = line.replace(/`[^`]*`/g, '');
    for (const match of plain.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ file, line: index + 1, target: match[1]! });
    }
    for (const match of plain.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)) out.push({ file, line: index + 1, target: match[1]! });
  });
  return out;
}

/** GitHub's anchor for a heading text. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[`*_~]/g, (c) => (c === '_' ? '_' : ''))
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a file offers: its headings (with GitHub's -1, -2 suffixes for repeats) and explicit ids. */
export function anchors(file: string, text = readFileSync(join(repoRoot, file), 'utf8')): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (FENCE.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]!);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      out.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const id of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(id[1]!);
  }
  return out;
}

export const relativeToRoot = (path: string) => relative(repoRoot, path);
