// Go template source → text and actions (with Go's trim markers applied), and the body
// of one action → tokens. Pure.
import { Untranslatable } from '../untranslatable.js';

// ---------------------------------------------------------------------------
// Splitting the source into text and actions, applying Go's trim markers

export type Piece = { kind: 'text'; text: string } | { kind: 'action'; body: string; source: string };

/**
 * The text and actions of a Go template, with the `{{-` / `-}}` trim markers already
 * applied to the text (and removed from the actions). Throws for an unclosed action.
 */
export function splitActions(source: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const start = source.indexOf('{{', i);
    let text = source.slice(i, start === -1 ? source.length : start);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (start === -1) {
      pieces.push({ kind: 'text', text });
      break;
    }
    const end = findActionEnd(source, start + 2);
    if (end === -1) throw new Untranslatable(`unclosed action starting with ${JSON.stringify(source.slice(start, start + 30))}`);
    let body = source.slice(start + 2, end);
    if (/^-\s/.test(body)) {
      text = text.replace(/\s+$/, '');
      body = body.slice(1);
    }
    if (/\s-$/.test(body)) {
      trimNext = true;
      body = body.slice(0, -1);
    }
    if (text !== '') pieces.push({ kind: 'text', text });
    pieces.push({ kind: 'action', body: body.trim(), source: source.slice(start, end + 2) });
    i = end + 2;
  }
  return pieces;
}

/** Index of the `}}` that closes an action, skipping quoted strings and comments. */
function findActionEnd(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const c = source[i]!;
    if (source.startsWith('/*', i)) {
      const close = source.indexOf('*/', i + 2);
      if (close === -1) return -1;
      i = close + 2;
      continue;
    }
    if (c === '"' || c === '`' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' && c !== '`' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (source.startsWith('}}', i)) return i;
    i++;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// The tokens of one action

/** Marks a field chain that follows `)`, as in `(call …).Field`. */
export const AFTER_PAREN = '\u0000after-paren';

export type Tok =
  | { t: 'field'; path: string[] } // .a.b (path [] for `.`)
  | { t: 'var'; name: string; path: string[] } // $x.a.b ($ alone: name '')
  | { t: 'id'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: string }
  | { t: 'op'; v: string };

export function tokenizeAction(body: string): Tok[] {
  const tokens: Tok[] = [];
  let i = 0;
  const fieldChain = (): string[] => {
    const path: string[] = [];
    while (body[i] === '.' && /[A-Za-z_]/.test(body[i + 1] ?? '')) {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(body.slice(i))!;
      path.push(m[1]!);
      i += m[0].length;
    }
    return path;
  };
  while (i < body.length) {
    const c = body[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '.') {
      if (/[A-Za-z_]/.test(body[i + 1] ?? '')) tokens.push({ t: 'field', path: fieldChain() });
      else {
        tokens.push({ t: 'field', path: [] });
        i++;
      }
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?/.exec(body.slice(i))!;
      i += m[0].length;
      tokens.push({ t: 'var', name: m[1] ?? '', path: fieldChain() });
    } else if (c === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      try {
        tokens.push({ t: 'str', v: JSON.parse(body.slice(i, j + 1)) as string });
      } catch {
        throw new Untranslatable(`unsupported string literal ${body.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (c === '`') {
      const j = body.indexOf('`', i + 1);
      tokens.push({ t: 'str', v: body.slice(i + 1, j) });
      i = j + 1;
    } else if (/[0-9-]/.test(c) && /^-?[0-9]/.test(body.slice(i))) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(body.slice(i))!;
      tokens.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!;
      tokens.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if (body.startsWith(':=', i)) {
      tokens.push({ t: 'op', v: ':=' });
      i += 2;
    } else if ('()|,='.includes(c)) {
      tokens.push({ t: 'op', v: c });
      i++;
      // A field chain right after `)`: (call …).Field
      if (c === ')' && body[i] === '.') {
        const path = fieldChain();
        if (path.length > 0) tokens.push({ t: 'field', path: [AFTER_PAREN, ...path] });
      }
    } else {
      throw new Untranslatable(`unexpected character '${c}'`);
    }
  }
  return tokens;
}
