// Reads Kubernetes manifests from files and directories (YAML, multi-document, or
// JSON) and keeps each document's syntax tree, so that a problem found later can be
// reported at the line of the offending field.
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import { ManifestLoadError } from './errors.js';

/** A field path inside a manifest, as in `['spec', 'conditions', 1, 'when']`. */
export type FieldPath = ReadonlyArray<string | number>;

export interface Manifest {
  /** The file, as the user named it (or as found below a named directory). */
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  object: Record<string, unknown>;
  /** 1-based line of the document's first content. */
  line: number;
  /** 1-based line of a field: its key when it exists, else its nearest existing parent. */
  lineOf(path: FieldPath): number;
  /** Where the value of a string field starts in the file, and how its text maps to lines. */
  scalarAt(path: FieldPath): ScalarPosition | undefined;
}

export interface ScalarPosition {
  /** 1-based line of the first character of the value's text. */
  line: number;
  /** How the text was written: a block (`|`, `>`) or a flow scalar (plain, quoted). */
  style: 'literal' | 'folded' | 'flow';
  /** For block scalars: the source lines of the text, indentation removed. */
  sourceLines?: string[];
}

/** A problem with a file as a whole (unreadable, not YAML), at a line when known. */
export interface FileProblem {
  file: string;
  line?: number;
  message: string;
}

export interface LoadResult {
  manifests: Manifest[];
  problems: FileProblem[];
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Every manifest in the given files and directories. Directories are read recursively
 * (hidden entries skipped, only .yaml/.yml/.json); a file named explicitly is read
 * whatever its extension. Parse errors are problems, not exceptions; a path that does
 * not exist throws ManifestLoadError.
 */
export async function loadManifests(paths: readonly string[]): Promise<LoadResult> {
  const manifests: Manifest[] = [];
  const problems: FileProblem[] = [];
  for (const path of paths) {
    for (const file of await manifestFiles(path)) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        problems.push({ file, message: `cannot read: ${(error as Error).message}` });
        continue;
      }
      const parsed = parseManifests(file, text);
      manifests.push(...parsed.manifests);
      problems.push(...parsed.problems);
    }
  }
  return { manifests, problems };
}

async function manifestFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ManifestLoadError(`${path}: no such file or directory`, { cause: error });
  }
  if (!info.isDirectory()) return [path];
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(full);
    }
  };
  await walk(path);
  return found;
}

/** Parses one file's text (pure): documents that are not objects are skipped. */
export function parseManifests(file: string, text: string): LoadResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const manifests: Manifest[] = [];
  const problems: FileProblem[] = [];
  const lineAt = (offset: number) => Math.max(1, lineCounter.linePos(offset).line);
  const blockLines = (start: number, end: number): string[] => {
    const lines = text.slice(start, end).split('\n').slice(1);
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
    const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
    return lines.map((l) => l.slice(Number.isFinite(indent) ? indent : 0));
  };
  if (!Array.isArray(docs)) {
    // An empty stream: nothing in it.
    return { manifests, problems };
  }
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        problems.push({ file, line: lineAt(error.pos[0]), message: `not valid YAML: ${firstLine(error.message)}` });
      }
      return;
    }
    const object: unknown = doc.toJS({ maxAliasCount: 100 });
    if (object === null || object === undefined) return;
    if (typeof object !== 'object' || Array.isArray(object)) {
      problems.push({ file, line: lineAt(doc.contents?.range?.[0] ?? 0), message: 'not a Kubernetes object (expected a mapping with apiVersion and kind)' });
      return;
    }
    const base = makeManifest(file, index, doc, object as Record<string, unknown>, lineAt, blockLines, []);
    // A `kind: List` holds its objects in items.
    const record = object as Record<string, unknown>;
    if (record.kind === 'List' && Array.isArray(record.items)) {
      record.items.forEach((item, i) => {
        if (item && typeof item === 'object' && !Array.isArray(item)) {
          manifests.push(makeManifest(file, index, doc, item as Record<string, unknown>, lineAt, blockLines, ['items', i]));
        }
      });
      return;
    }
    manifests.push(base);
  });
  return { manifests, problems };
}

function makeManifest(
  file: string,
  index: number,
  doc: Document.Parsed,
  object: Record<string, unknown>,
  lineAt: (offset: number) => number,
  blockLines: (start: number, end: number) => string[],
  prefix: FieldPath,
): Manifest {
  const root = prefix.length === 0 ? doc.contents : (doc.getIn(prefix, true) as YamlNode | undefined);
  const line = lineAt(root?.range?.[0] ?? 0);
  return {
    file,
    index,
    object,
    line,
    lineOf(path) {
      const found = locate(root, path);
      return found ? lineAt(found) : line;
    },
    scalarAt(path) {
      const node = valueNode(root, path);
      if (!node || !isScalar(node) || !node.range) return undefined;
      if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
        // The text starts on the line after the `|` or `>` indicator.
        return {
          line: lineAt(node.range[0]) + 1,
          style: node.type === 'BLOCK_LITERAL' ? 'literal' : 'folded',
          sourceLines: blockLines(node.range[0], node.range[1]),
        };
      }
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      return { line: lineAt(node.range[0] + (quoted ? 1 : 0)), style: 'flow' };
    },
  };
}

/** Offset of the key of `path`'s last segment (or of the deepest node that exists). */
function locate(root: YamlNode | null | undefined, path: FieldPath): number | undefined {
  let node: unknown = root;
  let offset = (root as YamlNode | undefined)?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return offset;
      const key = pair.key as YamlNode;
      offset = key.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as YamlNode | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function valueNode(root: YamlNode | null | undefined, path: FieldPath): unknown {
  let node: unknown = root;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else {
      return undefined;
    }
  }
  return node;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** `a.b[2].c` for a field path. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
