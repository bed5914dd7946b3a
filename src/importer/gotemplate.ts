// Translates Argo CD notification templates (Go text/template, with Argo CD's
// helpers and a few sprig functions) into nunjucks, for the common subset:
//
//   {{.app.metadata.name}}        → {{ app.metadata.name }}
//   {{.context.argocdUrl}}        → {{ context.argocdUrl }}
//   {{.serviceType}} {{.recipient}} → {{ notificationType }} {{ channel.name }}
//   {{if …}} {{else if …}} {{else}} {{end}}   → {% if %} {% elif %} {% else %} {% endif %}
//   {{range .list}}{{.x}}{{end}}, {{range $i, $v := .list}} → {% for … %} (loop.index0 for $i)
//   {{with .x}}…{{end}}, {{$v := …}}            → {% set %} + {% if %}
//   eq ne lt le gt ge and or not len index print, | pipelines
//   call .repo.RepoURLToHTTPS x   → x | repoURLToHTTPS
//   call .strings.ToUpper/ToLower/TrimSpace/ReplaceAll, sprig trunc upper lower title
//   trim default toJson
//   {{- and -}} whitespace trimming, {{/* comments */}}
//
// Go's output is kept exactly: herald's environment strips the newline after a block
// tag and the indentation before one (trimBlocks/lstripBlocks), so the translation
// puts back what those would remove. Pure. What cannot be translated is reported and
// left in the output as a nunjucks comment, never silently dropped.

export interface TemplateTranslation {
  /** The nunjucks template (always produced; untranslated actions are comments in it). */
  text: string;
  /** Constructs that could not be translated, with the original action. */
  problems: string[];
  notes: string[];
}

class Untranslatable extends Error {}

// ---------------------------------------------------------------------------
// Splitting the source into text and actions, applying Go's trim markers

export type Piece = { kind: 'text'; text: string } | { kind: 'action'; body: string; source: string };

/**
 * The text and actions of a Go template, with the `{{-` / `-}}` trim markers already
 * applied to the text (and removed from the actions). Throws for an unclosed action.
 */
export function splitActions(source: string): Piece[] {
  return split(source);
}

function split(source: string): Piece[] {
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
// Tokens and parse trees of one action

type Tok =
  | { t: 'field'; path: string[] } // .a.b (path [] for `.`)
  | { t: 'var'; name: string; path: string[] } // $x.a.b ($ alone: name '')
  | { t: 'id'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: string }
  | { t: 'op'; v: string };

function tokenizeAction(body: string): Tok[] {
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
        if (path.length > 0) tokens.push({ t: 'field', path: ['\u0000after-paren', ...path] });
      }
    } else {
      throw new Untranslatable(`unexpected character '${c}'`);
    }
  }
  return tokens;
}

type Operand =
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'lit'; text: string; literal: string | number | boolean | null }
  | { k: 'func'; name: string }
  | { k: 'paren'; pipeline: Pipeline; path: string[] };

type Command = Operand[];
interface Pipeline {
  decl?: { names: string[]; op: ':=' | '=' };
  commands: Command[];
}

function parsePipeline(tokens: Tok[]): Pipeline {
  let i = 0;
  const pipeline: Pipeline = { commands: [] };
  // $x := …, $i, $v := …
  const declEnd = tokens.findIndex((t) => t.t === 'op' && (t.v === ':=' || t.v === '='));
  if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => (t.t === 'var' && t.path.length === 0) || (t.t === 'op' && t.v === ','))) {
    pipeline.decl = {
      names: tokens.slice(0, declEnd).flatMap((t) => (t.t === 'var' ? [t.name] : [])),
      op: (tokens[declEnd] as { v: ':=' | '=' }).v,
    };
    i = declEnd + 1;
  }
  const parseOperands = (stopAtParen: boolean): Pipeline => {
    const inner: Pipeline = { commands: [[]] };
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.t === 'op' && t.v === ')') {
        if (!stopAtParen) throw new Untranslatable("unexpected ')'");
        return inner;
      }
      i++;
      if (t.t === 'op' && t.v === '|') {
        inner.commands.push([]);
        continue;
      }
      const command = inner.commands[inner.commands.length - 1]!;
      if (t.t === 'op' && t.v === '(') {
        const nested = parseOperands(true);
        i++; // the ')'
        const after = tokens[i];
        let path: string[] = [];
        if (after && after.t === 'field' && after.path[0] === '\u0000after-paren') {
          path = after.path.slice(1);
          i++;
        }
        command.push({ k: 'paren', pipeline: nested, path });
      } else if (t.t === 'field') command.push({ k: 'field', path: t.path });
      else if (t.t === 'var') command.push({ k: 'var', name: t.name, path: t.path });
      else if (t.t === 'str') command.push({ k: 'lit', text: JSON.stringify(t.v), literal: t.v });
      else if (t.t === 'num') command.push({ k: 'lit', text: t.v, literal: Number(t.v) });
      else if (t.t === 'id' && (t.v === 'true' || t.v === 'false')) command.push({ k: 'lit', text: t.v, literal: t.v === 'true' });
      else if (t.t === 'id' && t.v === 'nil') command.push({ k: 'lit', text: 'none', literal: null });
      else if (t.t === 'id') command.push({ k: 'func', name: t.v });
      else throw new Untranslatable(`unexpected '${(t as { v?: string }).v ?? t.t}'`);
    }
    if (stopAtParen) throw new Untranslatable("missing ')'");
    return inner;
  };
  pipeline.commands = parseOperands(false).commands;
  if (pipeline.commands.some((c) => c.length === 0)) throw new Untranslatable('empty command in a pipeline');
  return pipeline;
}

// ---------------------------------------------------------------------------
// Translating pipelines into nunjucks expressions

interface Scope {
  /** What `.` means here: undefined at the top (the notification context). */
  dot?: string;
  /** Go variable → nunjucks expression. */
  vars: Map<string, string>;
}

// Context names, nunjucks keywords and globals: never used for a translated variable.
const RESERVED = new Set([
  'app', 'context', 'trigger', 'channel', 'notificationType', 'initiator', 'loop', 'range', 'cycler', 'joiner',
  'true', 'false', 'True', 'False', 'none', 'None', 'null', 'and', 'or', 'not', 'in', 'is', 'if', 'elif', 'else',
  'for', 'endfor', 'endif', 'set', 'endset', 'with', 'block', 'macro', 'call', 'filter', 'raw', 'verbatim',
]);

class Translator {
  readonly notes = new Set<string>();
  private counter = 0;
  private readonly used = new Set<string>();

  private readonly scopes: Scope[] = [{ vars: new Map() }];

  get scope(): Scope {
    return this.scopes[this.scopes.length - 1]!;
  }

  enter(scope: Scope): void {
    this.scopes.push(scope);
  }

  leave(): void {
    this.scopes.pop();
  }

  /** A nunjucks name for a new variable: unique in this template, never a keyword or context name. */
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=[0-9])/, 'v') || 'v';
    let name = clean;
    while (RESERVED.has(name) || this.used.has(name)) name = `${clean}${++this.counter}`;
    this.used.add(name);
    return name;
  }

  variable(name: string): string {
    if (name === '') return ''; // $ is the root
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const found = this.scopes[i]!.vars.get(name);
      if (found !== undefined) return found;
    }
    throw new Untranslatable(`unknown variable $${name}`);
  }

  /** A path from the top-level context (`.app…` at the root, or `$.app…`). */
  root(path: string[]): string {
    const [head, ...rest] = path;
    const tail = rest.map((p) => `.${p}`).join('');
    switch (head) {
      case undefined:
        throw new Untranslatable("'.' at the top level (the whole notification context) has no nunjucks equivalent");
      case 'app':
      case 'context':
        if (head === 'context' && rest[0] && rest[0] !== 'argocdUrl') this.notes.add(`context.${rest[0]} is used: start the controller with --context ${rest[0]}=VALUE`);
        return `${head}${tail}`;
      case 'serviceType':
      case 'notificationType':
        return `notificationType${tail}`;
      case 'recipient':
        this.notes.add('.recipient became channel.name (the DingTalkChannel the message goes to)');
        return `channel.name${tail}`;
      case 'secrets':
        throw new Untranslatable('.secrets: herald templates never see secrets');
      default:
        throw new Untranslatable(`.${head} is not available in herald templates (app, context, serviceType, recipient are)`);
    }
  }

  field(path: string[]): string {
    if (this.scope.dot === undefined) return this.root(path);
    return `${this.scope.dot}${path.map((p) => `.${p}`).join('')}`;
  }

  operand(op: Operand): string {
    switch (op.k) {
      case 'field':
        return this.field(op.path);
      case 'var': {
        if (op.name === '') return this.root(op.path);
        const base = this.variable(op.name);
        return `${base}${op.path.map((p) => `.${p}`).join('')}`;
      }
      case 'lit':
        return op.text;
      case 'paren': {
        const inner = this.pipeline(op.pipeline);
        return op.path.length === 0 ? `(${inner})` : `(${inner})${op.path.map((p) => `.${p}`).join('')}`;
      }
      case 'func':
        return this.call(op.name, []);
    }
  }

  /** A pipeline as one nunjucks expression. */
  pipeline(pipeline: Pipeline): string {
    let value: string | undefined;
    for (const command of pipeline.commands) value = this.command(command, value);
    return value!;
  }

  private command(command: Command, piped: string | undefined): string {
    const [head, ...rest] = command;
    if (head!.k === 'func') {
      if (head!.name === 'call') return this.callMethod(rest, piped);
      const args = rest.map((a) => this.operand(a));
      if (piped !== undefined) args.push(piped);
      return this.call(head!.name, args, rest);
    }
    if (rest.length > 0 || piped !== undefined) throw new Untranslatable('a value cannot be called like a function');
    return this.operand(head!);
  }

  private call(name: string, args: string[], raw: Operand[] = []): string {
    const need = (n: number) => {
      if (args.length < n) throw new Untranslatable(`${name} needs ${n} argument${n === 1 ? '' : 's'}`);
    };
    const compare = (op: string) => {
      need(2);
      return `(${args[0]} ${op} ${args[1]})`;
    };
    switch (name) {
      case 'eq':
        need(2);
        return args.length === 2 ? `(${args[0]} == ${args[1]})` : `(${args.slice(1).map((b) => `${args[0]} == ${b}`).join(' or ')})`;
      case 'ne':
        return compare('!=');
      case 'lt':
        return compare('<');
      case 'le':
        return compare('<=');
      case 'gt':
        return compare('>');
      case 'ge':
        return compare('>=');
      case 'and':
      case 'or':
        need(2);
        return `(${args.join(` ${name} `)})`;
      case 'not':
        need(1);
        return `(not ${args[0]})`;
      case 'len':
        need(1);
        return `(${args[0]} | length)`;
      case 'index':
        need(2);
        return `${args[0]}${args.slice(1).map((k) => `[${k}]`).join('')}`;
      case 'print':
        need(1);
        return args.length === 1 ? args[0]! : `(${args.join(' ~ ')})`;
      case 'println':
        return `(${[...args, '"\\n"'].join(' ~ ')})`;
      case 'printf':
        return this.printf(raw, args);
      case 'trunc':
        need(2);
        return `(${args[1]} | truncate(${args[0]}, ""))`;
      case 'upper':
      case 'lower':
      case 'title':
      case 'trim':
        need(1);
        return `(${args[0]} | ${name})`;
      case 'default':
        need(2);
        return `(${args[1]} or ${args[0]})`;
      case 'toJson':
      case 'toRawJson':
        need(1);
        return `(${args[0]} | json)`;
      case 'urlquery':
        need(1);
        return `(${args[0]} | urlencode)`;
      default:
        throw new Untranslatable(`the function ${name} has no nunjucks translation`);
    }
  }

  private printf(raw: Operand[], args: string[]): string {
    const format = raw[0];
    if (!format || format.k !== 'lit' || typeof format.literal !== 'string') throw new Untranslatable('printf needs a literal format');
    const parts: string[] = [];
    let argIndex = 1;
    let rest = format.literal;
    for (let m = /%([svdq%])/.exec(rest); m; m = /%([svdq%])/.exec(rest)) {
      if (m.index > 0) parts.push(JSON.stringify(rest.slice(0, m.index)));
      if (m[1] === '%') parts.push('"%"');
      else {
        const arg = args[argIndex++];
        if (arg === undefined) throw new Untranslatable('printf has fewer arguments than verbs');
        parts.push(m[1] === 'q' ? `(${arg} | json)` : arg);
      }
      rest = rest.slice(m.index + 2);
    }
    if (/%/.test(rest)) throw new Untranslatable(`printf verb in ${JSON.stringify(format.literal)} has no translation (only %s %v %d %q)`);
    if (rest !== '') parts.push(JSON.stringify(rest));
    return parts.length === 1 ? parts[0]! : `(${parts.join(' ~ ')})`;
  }

  /** `call .repo.RepoURLToHTTPS x` and Argo CD's other helper functions. */
  private callMethod(rest: Operand[], piped: string | undefined): string {
    const [fn, ...argOps] = rest;
    // The helper is named from the top-level context: `.repo.X` at the top, or `$.repo.X` anywhere.
    const atRoot = (fn?.k === 'field' && this.scope.dot === undefined) || (fn?.k === 'var' && fn.name === '');
    if (!fn || !atRoot) throw new Untranslatable("call needs one of Argo CD's helper functions (.repo…, .strings…, .time…)");
    const path = (fn as { path: string[] }).path.join('.');
    if (!HELPERS.has(path)) throw new Untranslatable(`call .${path} has no herald equivalent`);
    const args = argOps.map((a) => this.operand(a));
    if (piped !== undefined) args.push(piped);
    const one = () => {
      if (args.length !== 1) throw new Untranslatable(`call .${path} needs 1 argument`);
      return args[0]!;
    };
    switch (path) {
      case 'repo.RepoURLToHTTPS':
        this.notes.add("call .repo.RepoURLToHTTPS became the repoURLToHTTPS filter, which also drops a trailing '.git' (Argo CD keeps it)");
        return `(${one()} | repoURLToHTTPS)`;
      case 'strings.ToUpper':
        return `(${one()} | upper)`;
      case 'strings.ToLower':
        return `(${one()} | lower)`;
      case 'strings.TrimSpace':
        return `(${one()} | trim)`;
      case 'strings.ReplaceAll':
        if (args.length !== 3) throw new Untranslatable('call .strings.ReplaceAll needs 3 arguments');
        return `(${args[0]} | replace(${args[1]}, ${args[2]}))`;
      default:
        throw new Untranslatable(`call .${path} has no herald equivalent`);
    }
  }
}

/** Argo CD helper functions (`call .repo.…`, `call .strings.…`) with a herald equivalent. */
const HELPERS = new Set(['repo.RepoURLToHTTPS', 'strings.ToUpper', 'strings.ToLower', 'strings.TrimSpace', 'strings.ReplaceAll']);

// ---------------------------------------------------------------------------
// The whole template

/** An open block; `broken` when its opening action could not be translated (its else/end are then comments too). */
type Block = { kind: 'if' | 'range' | 'with'; pushedScope: boolean; broken?: boolean };

const KEYWORD = /^(if|else|end|range|with|define|template|block|break|continue)\b\s*/;

export function goTemplateToNunjucks(source: string): TemplateTranslation {
  const problems: string[] = [];
  let pieces: Piece[];
  try {
    pieces = split(source);
  } catch (error) {
    return { text: commentOut(source), problems: [(error as Error).message], notes: [] };
  }
  const translator = new Translator();
  const out: string[] = [];
  const blocks: Block[] = [];
  let fatal: string | undefined;

  // Block tags lose the newline after them and the indentation before them in
  // herald's environment; Go keeps both, so they are put back.
  const blockTag = (tag: string, index: number) => {
    const before = out.length > 0 ? out[out.length - 1]! : '';
    const indent = /[ \t]+$/.exec(before)?.[0];
    if (indent) out[out.length - 1] = `${before.slice(0, -indent.length)}{{ ${JSON.stringify(indent)} }}`;
    out.push(tag);
    const next = pieces[index + 1];
    if (next?.kind === 'text' && /^\r?\n/.test(next.text)) out.push('\n');
  };

  pieces.forEach((piece, index) => {
    if (fatal) return;
    if (piece.kind === 'text') {
      out.push(escapeText(piece.text));
      return;
    }
    const body = piece.body;
    if (body.startsWith('/*')) return; // a comment prints nothing in Go either
    const keyword = KEYWORD.exec(body);
    const rest = keyword ? body.slice(keyword[0].length) : body;
    const open = blocks[blocks.length - 1];
    if (open?.broken && (keyword?.[1] === 'else' || keyword?.[1] === 'end')) {
      if (keyword[1] === 'end') blocks.pop();
      out.push(commentOut(piece.source));
      return;
    }
    try {
      switch (keyword?.[1]) {
        case undefined: {
          const pipeline = parsePipeline(tokenizeAction(rest));
          if (pipeline.decl) {
            const value = translator.pipeline({ commands: pipeline.commands });
            if (pipeline.decl.names.length !== 1) throw new Untranslatable('only one variable can be assigned');
            const goName = pipeline.decl.names[0]!;
            const name = pipeline.decl.op === ':=' ? translator.fresh(goName) : translator.variable(goName);
            translator.scope.vars.set(goName, name);
            blockTag(`{% set ${name} = ${value} %}`, index);
          } else {
            out.push(`{{ ${stripParens(translator.pipeline(pipeline))} }}`);
          }
          return;
        }
        case 'if': {
          const condition = translator.pipeline(parsePipeline(tokenizeAction(rest)));
          blocks.push({ kind: 'if', pushedScope: false });
          blockTag(`{% if ${stripParens(condition)} %}`, index);
          return;
        }
        case 'else': {
          const block = blocks[blocks.length - 1];
          if (!block) throw new Untranslatable('{{else}} without {{if}}, {{range}} or {{with}}');
          if (/^if\b/.test(rest)) {
            if (block.kind !== 'if') throw new Untranslatable('{{else if}} is only translated inside {{if}}');
            const condition = translator.pipeline(parsePipeline(tokenizeAction(rest.replace(/^if\s*/, ''))));
            blockTag(`{% elif ${stripParens(condition)} %}`, index);
            return;
          }
          if (rest !== '') throw new Untranslatable(`{{else ${rest}}} is not translated`);
          // The else branch of range and with sees the outer dot again.
          if (block.pushedScope) translator.leave();
          block.pushedScope = false;
          blockTag('{% else %}', index);
          return;
        }
        case 'end': {
          const block = blocks.pop();
          if (!block) throw new Untranslatable('{{end}} without a block');
          if (block.pushedScope) translator.leave();
          blockTag(block.kind === 'range' ? '{% endfor %}' : '{% endif %}', index);
          return;
        }
        case 'range': {
          const pipeline = parsePipeline(tokenizeAction(rest));
          const list = translator.pipeline({ commands: pipeline.commands });
          const names = pipeline.decl?.names ?? [];
          const vars = new Map<string, string>();
          let item: string;
          if (names.length === 2) {
            vars.set(names[0]!, 'loop.index0');
            item = translator.fresh(names[1]!);
            vars.set(names[1]!, item);
            translator.notes.add(`{{range $${names[0]}, $${names[1]} := …}} became a list loop ($${names[0]} is loop.index0); over a map, iterate with {% for key, value in … %} instead`);
          } else if (names.length === 1) {
            item = translator.fresh(names[0]!);
            vars.set(names[0]!, item);
          } else {
            item = translator.fresh('item');
          }
          translator.enter({ dot: item, vars });
          blocks.push({ kind: 'range', pushedScope: true });
          blockTag(`{% for ${item} in ${stripParens(list)} %}`, index);
          return;
        }
        case 'with': {
          const pipeline = parsePipeline(tokenizeAction(rest));
          const value = translator.pipeline({ commands: pipeline.commands });
          const name = translator.fresh(pipeline.decl?.names[0] ?? 'it');
          const vars = new Map<string, string>();
          if (pipeline.decl?.names[0]) vars.set(pipeline.decl.names[0], name);
          blockTag(`{% set ${name} = ${stripParens(value)} %}{% if ${name} %}`, index);
          translator.enter({ dot: name, vars });
          blocks.push({ kind: 'with', pushedScope: true });
          return;
        }
        default:
          if (keyword?.[1] === 'template' || keyword?.[1] === 'break' || keyword?.[1] === 'continue') {
            throw new Untranslatable(`{{${keyword[1]}}} has no translation`);
          }
          // define / block open a block whose structure cannot be kept.
          fatal = `{{${keyword![1]}}} (named templates) cannot be translated`;
          return;
      }
    } catch (error) {
      if (!(error instanceof Untranslatable)) throw error;
      problems.push(`${piece.source}: ${error.message}`);
      out.push(commentOut(piece.source));
      // Keep the block structure: the matching else/end become comments as well.
      const kind = keyword?.[1];
      if (kind === 'if' || kind === 'range' || kind === 'with') blocks.push({ kind, pushedScope: false, broken: true });
    }
  });
  if (fatal) return { text: commentOut(source), problems: [fatal], notes: [...translator.notes] };
  if (blocks.length > 0) problems.push(`{{${blocks[blocks.length - 1]!.kind}}} is never closed with {{end}}`);
  return { text: out.join(''), problems, notes: [...translator.notes] };
}

/** Literal text: nunjucks delimiters in it are printed, not interpreted. */
function escapeText(text: string): string {
  return text.replace(/\{[{%#]|[%#]\}/g, (m) => `{{ ${JSON.stringify(m)} }}`);
}

/** An untranslated action, kept visible in the template source as a comment. */
function commentOut(source: string): string {
  return `{# not converted: ${source.replace(/#\}/g, '# }').replace(/\{#/g, '{ #')} #}`;
}

/** `(a == b)` → `a == b` when the parentheses wrap the whole expression. */
function stripParens(expression: string): string {
  if (!expression.startsWith('(') || !expression.endsWith(')')) return expression;
  let depth = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === '"') {
      // skip a string literal
      i++;
      while (i < expression.length && expression[i] !== '"') i += expression[i] === '\\' ? 2 : 1;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0 && i < expression.length - 1) return expression;
    }
  }
  return expression.slice(1, -1);
}
