// Translates Argo CD notification trigger expressions (expr-lang, github.com/expr-lang/expr)
// into CEL, for the subset Argo CD's catalog and typical ConfigMaps use:
//
//   and or not && || !  == != < <= > >=  in, not in  + - * / %  a ? b : c
//   'strings' "strings"  numbers  true false  [lists]  app.a.b  app.a?.b  x["key"]
//   x != nil → has(x)   x == nil → !has(x)   a ?? b → has(a) ? a : b
//   matches contains startsWith endsWith → CEL methods      len(x) → size(x)
//   time.Now() → now()   time.Parse(s) → timestamp(s)   t1.Sub(t2) → (t1 - t2)
//   d.Minutes()/Seconds()/Hours() → d.getMinutes()/…   t.Before(u)/After(u) → t < u / t > u
//   any/all/none/one/filter/map/count(list, {predicate with # or .field})
//
// Pure. Anything else is reported as untranslatable, never guessed.

export interface ExprTranslation {
  cel?: string;
  /** Why it cannot be translated (then `cel` is undefined). */
  problem?: string;
  /** Differences in meaning worth telling the user about. */
  notes: string[];
}

type Token =
  | { t: 'num'; v: string; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'id'; v: string; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'eof'; pos: number };

class Untranslatable extends Error {}

const OPERATORS = ['?.', '??', '==', '!=', '<=', '>=', '&&', '||', '..', '**', '<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '[', ']', '{', '}', ',', '.', ':', '?', '#', '^'];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(?:0x[0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][+-]?[0-9]+)?)/.exec(source.slice(i))!;
      tokens.push({ t: 'num', v: m[0].replace(/_/g, ''), pos: i });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let value = '';
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\' && c !== '`') {
          const next = source[j + 1];
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '`': '`' };
          if (next === undefined || escapes[next] === undefined) throw new Untranslatable(`unsupported escape in a string at column ${j + 1}`);
          value += escapes[next];
          j += 2;
          continue;
        }
        value += source[j];
        j++;
      }
      if (j >= source.length) throw new Untranslatable(`unterminated string at column ${i + 1}`);
      tokens.push({ t: 'str', v: value, pos: i });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(source.slice(i))!;
      tokens.push({ t: 'id', v: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (!op) throw new Untranslatable(`unexpected character '${c}' at column ${i + 1}`);
    tokens.push({ t: 'op', v: op, pos: i });
    i += op.length;
  }
  tokens.push({ t: 'eof', pos: source.length });
  return tokens;
}

type Node =
  | { k: 'lit'; kind: 'num' | 'str' | 'bool' | 'nil'; v: string }
  | { k: 'id'; name: string }
  | { k: 'pointer' } // `#` inside a predicate
  | { k: 'member'; obj: Node; prop: string; optional: boolean }
  | { k: 'index'; obj: Node; index: Node }
  | { k: 'call'; callee: Node; args: Node[] }
  | { k: 'unary'; op: string; arg: Node }
  | { k: 'binary'; op: string; left: Node; right: Node }
  | { k: 'cond'; test: Node; then: Node; else: Node }
  | { k: 'list'; items: Node[] }
  | { k: 'closure'; body: Node };

const BINARY: Array<{ ops: string[] }> = [
  { ops: ['??'] },
  { ops: ['||', 'or'] },
  { ops: ['&&', 'and'] },
  { ops: ['==', '!=', '<', '>', '<=', '>=', 'in', 'not in', 'matches', 'contains', 'startsWith', 'endsWith'] },
  { ops: ['..'] },
  { ops: ['+', '-'] },
  { ops: ['*', '/', '%'] },
  { ops: ['**', '^'] },
];

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    return this.tokens[this.i++]!;
  }
  private isOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'op' && t.v === v;
  }
  private expect(v: string): void {
    const t = this.next();
    if (!(t.t === 'op' && t.v === v)) throw new Untranslatable(`expected '${v}' at column ${t.pos + 1}`);
  }

  parse(): Node {
    const node = this.ternary();
    const t = this.peek();
    if (t.t !== 'eof') throw new Untranslatable(`unexpected ${describe(t)} at column ${t.pos + 1}`);
    return node;
  }

  private ternary(): Node {
    const test = this.binary(0);
    if (this.isOp('?')) {
      this.next();
      const then = this.ternary();
      this.expect(':');
      const otherwise = this.ternary();
      return { k: 'cond', test, then, else: otherwise };
    }
    return test;
  }

  /** The binary operator at the cursor, if it belongs to precedence level `level`. */
  private binaryOp(level: number): string | undefined {
    const t = this.peek();
    const ops = BINARY[level]!.ops;
    if (t.t === 'op' && ops.includes(t.v)) return t.v;
    if (t.t === 'id') {
      if (t.v === 'not' && ops.includes('not in')) {
        const after = this.peek(1);
        if (after.t === 'id' && after.v === 'in') return 'not in';
      }
      if (ops.includes(t.v) && t.v !== 'not in') return t.v;
    }
    return undefined;
  }

  private binary(level: number): Node {
    if (level >= BINARY.length) return this.unary();
    let left = this.binary(level + 1);
    for (let op = this.binaryOp(level); op !== undefined; op = this.binaryOp(level)) {
      this.next();
      if (op === 'not in') this.next();
      const right = this.binary(level + 1);
      left = { k: 'binary', op, left, right };
    }
    return left;
  }

  private unary(): Node {
    const t = this.peek();
    if ((t.t === 'op' && (t.v === '!' || t.v === '-' || t.v === '+')) || (t.t === 'id' && t.v === 'not')) {
      this.next();
      return { k: 'unary', op: t.v === 'not' ? '!' : t.v, arg: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: Node): Node {
    for (;;) {
      if (this.isOp('.') || this.isOp('?.')) {
        const optional = (this.next() as { v: string }).v === '?.';
        const name = this.next();
        if (name.t !== 'id') throw new Untranslatable(`expected a field name at column ${name.pos + 1}`);
        node = { k: 'member', obj: node, prop: name.v, optional };
      } else if (this.isOp('[')) {
        this.next();
        const index = this.ternary();
        if (this.isOp(':')) throw new Untranslatable('slices (a[i:j]) have no CEL equivalent');
        this.expect(']');
        node = { k: 'index', obj: node, index };
      } else if (this.isOp('(')) {
        this.next();
        const args: Node[] = [];
        while (!this.isOp(')')) {
          args.push(this.isOp('{') ? this.closure() : this.ternary());
          if (!this.isOp(',')) break;
          this.next();
        }
        this.expect(')');
        node = { k: 'call', callee: node, args };
      } else {
        return node;
      }
    }
  }

  private closure(): Node {
    this.expect('{');
    const body = this.ternary();
    this.expect('}');
    return { k: 'closure', body };
  }

  private primary(): Node {
    const t = this.next();
    switch (t.t) {
      case 'num':
        return { k: 'lit', kind: 'num', v: t.v };
      case 'str':
        return { k: 'lit', kind: 'str', v: t.v };
      case 'id':
        if (t.v === 'true' || t.v === 'false') return { k: 'lit', kind: 'bool', v: t.v };
        if (t.v === 'nil') return { k: 'lit', kind: 'nil', v: 'nil' };
        return { k: 'id', name: t.v };
      case 'op':
        if (t.v === '(') {
          const inner = this.ternary();
          this.expect(')');
          return inner;
        }
        if (t.v === '[') {
          const items: Node[] = [];
          while (!this.isOp(']')) {
            items.push(this.ternary());
            if (!this.isOp(',')) break;
            this.next();
          }
          this.expect(']');
          return { k: 'list', items };
        }
        if (t.v === '#') return { k: 'pointer' };
        // `.field` inside a predicate is short for `#.field`.
        if (t.v === '.') {
          const name = this.next();
          if (name.t !== 'id') throw new Untranslatable(`expected a field name at column ${name.pos + 1}`);
          return { k: 'member', obj: { k: 'pointer' }, prop: name.v, optional: false };
        }
        if (t.v === '{') throw new Untranslatable('map literals ({...}) are not supported');
        throw new Untranslatable(`unexpected '${t.v}' at column ${t.pos + 1}`);
      case 'eof':
        throw new Untranslatable('unexpected end of expression');
    }
  }
}

function describe(t: Token): string {
  return t.t === 'eof' ? 'end of expression' : `'${t.v}'`;
}

// ---------------------------------------------------------------------------
// Emitting CEL

interface Emitter {
  notes: Set<string>;
  /** Name of the predicate variable while inside a closure. */
  element?: string;
  depth: number;
}

const celString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;

/** `app.a.b` for a path of plain members from a variable; undefined otherwise. */
function path(node: Node, e: Emitter): string | undefined {
  if (node.k === 'id') return node.name === 'app' ? 'app' : undefined;
  if (node.k === 'pointer') return e.element;
  if (node.k === 'member') {
    const base = path(node.obj, e);
    return base === undefined ? undefined : `${base}.${node.prop}`;
  }
  return undefined;
}

/** has() for every level below the root: `a.b.c` → has(a.b) && has(a.b.c). */
function presence(full: string): string {
  const parts = full.split('.');
  const checks: string[] = [];
  for (let i = 2; i <= parts.length; i++) checks.push(`has(${parts.slice(0, i).join('.')})`);
  return checks.join(' && ');
}

const TIME_METHODS: Record<string, string> = { Minutes: 'getMinutes', Seconds: 'getSeconds', Hours: 'getHours', Milliseconds: 'getMilliseconds' };
const PREDICATES: Record<string, (list: string, v: string, body: string) => string> = {
  all: (l, v, b) => `${l}.all(${v}, ${b})`,
  any: (l, v, b) => `${l}.exists(${v}, ${b})`,
  none: (l, v, b) => `!${l}.exists(${v}, ${b})`,
  one: (l, v, b) => `${l}.exists_one(${v}, ${b})`,
  filter: (l, v, b) => `${l}.filter(${v}, ${b})`,
  map: (l, v, b) => `${l}.map(${v}, ${b})`,
  count: (l, v, b) => `size(${l}.filter(${v}, ${b}))`,
};

function emit(node: Node, e: Emitter): string {
  switch (node.k) {
    case 'lit':
      if (node.kind === 'nil') throw new Untranslatable('nil outside a comparison (x == nil, x != nil) has no CEL equivalent');
      return node.kind === 'str' ? celString(node.v) : node.v;
    case 'id':
      if (node.name === 'app') return 'app';
      throw new Untranslatable(`unknown name '${node.name}' (only 'app' exists in herald's CEL environment)`);
    case 'pointer':
      if (!e.element) throw new Untranslatable("'#' outside a predicate");
      return e.element;
    case 'member': {
      if (node.optional) e.notes.add("'?.' became '.': in herald a missing field makes the condition not fire");
      return `${emit(node.obj, e)}.${node.prop}`;
    }
    case 'index':
      return `${emit(node.obj, e)}[${emit(node.index, e)}]`;
    case 'unary':
      return `${node.op}${wrap(node.arg, e, 6)}`;
    case 'cond':
      return `${wrap(node.test, e, 1)} ? ${wrap(node.then, e, 1)} : ${wrap(node.else, e, 0)}`;
    case 'list':
      return `[${node.items.map((item) => emit(item, e)).join(', ')}]`;
    case 'closure':
      throw new Untranslatable('a predicate ({...}) outside any/all/none/one/filter/map/count');
    case 'binary':
      return emitBinary(node, e);
    case 'call':
      return emitCall(node, e);
  }
}

/** CEL precedence of what `node` emits: 0 ternary, 1 ||, 2 &&, 3 relations, 4 + -, 5 * / %, 6 unary, 7 primary. */
function precedence(node: Node): number {
  if (node.k === 'cond') return 0;
  if (node.k === 'unary') return 6;
  if (node.k !== 'binary') return 7;
  switch (node.op) {
    case '||':
    case 'or':
      return 1;
    case '&&':
    case 'and':
      return 2;
    case '+':
    case '-':
      return 4;
    case '*':
    case '/':
    case '%':
      return 5;
    case 'not in':
      return 6;
    case 'matches':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
    case '??':
      return 7;
    case '==':
    case '!=':
      return node.left.k === 'lit' && node.left.kind === 'nil' ? 6 : node.right.k === 'lit' && node.right.kind === 'nil' ? (node.op === '!=' ? 7 : 6) : 3;
    default:
      return 3;
  }
}

/** `node` emitted, in parentheses when it binds less tightly than `context` needs. */
function wrap(node: Node, e: Emitter, context = 7): string {
  const text = emit(node, e);
  return precedence(node) < context ? `(${text})` : text;
}

function emitBinary(node: Extract<Node, { k: 'binary' }>, e: Emitter): string {
  const { op, left, right } = node;
  const isNil = (n: Node) => n.k === 'lit' && n.kind === 'nil';
  if ((op === '==' || op === '!=') && (isNil(left) || isNil(right))) {
    const subject = isNil(left) ? right : left;
    const full = path(subject, e);
    if (!full || !full.includes('.')) throw new Untranslatable('a nil comparison needs a field path such as app.status.operationState');
    return op === '!=' ? `has(${full})` : `!(${presence(full)})`;
  }
  if (op === '??') {
    const full = path(left, e);
    if (!full || !full.includes('.')) throw new Untranslatable("'??' needs a field path on its left");
    return `(has(${full}) ? ${full} : ${wrap(right, e)})`;
  }
  if (op === '..') throw new Untranslatable("ranges (a..b) have no CEL equivalent");
  if (op === '**' || op === '^') throw new Untranslatable('exponentiation has no CEL equivalent');
  if (op === 'not in') return `!(${wrap(left, e, 4)} in ${wrap(right, e, 4)})`;
  if (op === 'matches' || op === 'contains' || op === 'startsWith' || op === 'endsWith') return `${wrap(left, e)}.${op}(${emit(right, e)})`;
  const celOp = op === 'and' ? '&&' : op === 'or' ? '||' : op;
  const level = precedence(node);
  // && and || are associative; other operators need the right side parenthesised at equal level.
  const associative = level === 1 || level === 2;
  return `${wrap(left, e, level)} ${celOp} ${wrap(right, e, associative ? level : level + 1)}`;
}

function emitCall(node: Extract<Node, { k: 'call' }>, e: Emitter): string {
  const { callee, args } = node;
  // Functions: len(x), any(list, {…}) and friends, time.Now(), time.Parse(s).
  if (callee.k === 'id') {
    if (callee.name === 'len' && args.length === 1) return `size(${emit(args[0]!, e)})`;
    const predicate = PREDICATES[callee.name];
    if (predicate && args.length === 2 && args[1]!.k === 'closure') {
      const variable = `x${e.depth}`;
      const inner: Emitter = { notes: e.notes, element: variable, depth: e.depth + 1 };
      return predicate(wrap(args[0]!, e), variable, emit((args[1] as Extract<Node, { k: 'closure' }>).body, inner));
    }
    throw new Untranslatable(`the function ${callee.name}() has no CEL translation`);
  }
  if (callee.k === 'member' && callee.obj.k === 'id' && callee.obj.name === 'time') {
    if (callee.prop === 'Now' && args.length === 0) return 'now()';
    if (callee.prop === 'Parse' && args.length === 1) return `timestamp(${emit(args[0]!, e)})`;
    throw new Untranslatable(`time.${callee.prop}() has no CEL translation`);
  }
  if (callee.k === 'member' && callee.obj.k === 'id' && callee.obj.name !== 'app') {
    throw new Untranslatable(`${callee.obj.name}.${callee.prop}() has no CEL translation`);
  }
  // Methods on times and durations.
  if (callee.k === 'member') {
    const target = callee.obj;
    if (callee.prop === 'Sub' && args.length === 1) return `(${emit(target, e)} - ${emit(args[0]!, e)})`;
    if (callee.prop === 'Before' && args.length === 1) return `${wrap(target, e)} < ${wrap(args[0]!, e)}`;
    if (callee.prop === 'After' && args.length === 1) return `${wrap(target, e)} > ${wrap(args[0]!, e)}`;
    const method = TIME_METHODS[callee.prop];
    if (method && args.length === 0) {
      e.notes.add(`${callee.prop}() became ${method}(), which counts whole units (Go's returns a fraction)`);
      return `${wrap(target, e)}.${method}()`;
    }
    throw new Untranslatable(`the method ${callee.prop}() has no CEL translation`);
  }
  throw new Untranslatable('this call has no CEL translation');
}

export function exprToCel(source: string): ExprTranslation {
  const notes = new Set<string>();
  try {
    const ast = new Parser(tokenize(source)).parse();
    const cel = emit(ast, { notes, depth: 0 });
    return { cel, notes: [...notes] };
  } catch (error) {
    if (error instanceof Untranslatable) return { problem: error.message, notes: [...notes] };
    throw error;
  }
}
