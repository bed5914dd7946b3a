// Go template pipelines → nunjucks expressions: what `.` and `$x` mean in the current
// scope, Go's functions, sprig's common ones and Argo CD's `call` helpers. Pure.
import { Untranslatable } from '../untranslatable.js';
import type { Command, Operand, Pipeline } from './parse.js';

export interface Scope {
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

export class Translator {
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
