// Compiles every string field of a NotificationTemplate once, and reports each
// problem with its field path and line.
import nunjucks from 'nunjucks';
import type { NotificationTemplateSpec } from '../api/generated.js';
import type { RenderedDingTalk } from './types.js';
import { BLOCKED_PROPERTIES, hasFilter, templateEnvironment } from './environment.js';
import { isTimeZone } from './filters/index.js';

/** Why one field of a template does not compile. */
export interface TemplateFieldError {
  /** Field path below spec, e.g. `dingtalk.text`, `dingtalk.btns[1].actionURL`, `message`. */
  field: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when nunjucks gives one. */
  column?: number;
  message: string;
}

/** One compiled field: text without template syntax is kept as it is. */
export type CompiledField =
  | { readonly field: string; readonly constant: string }
  | { readonly field: string; readonly template: nunjucks.Template };

export interface CompiledDingTalk {
  readonly msgType: RenderedDingTalk['msgType'];
  readonly title?: CompiledField;
  readonly text?: CompiledField;
  readonly messageURL?: CompiledField;
  readonly picURL?: CompiledField;
  readonly singleTitle?: CompiledField;
  readonly singleURL?: CompiledField;
  readonly btnOrientation?: '0' | '1';
  readonly btns?: ReadonlyArray<{ readonly title: CompiledField; readonly actionURL: CompiledField }>;
  readonly links?: ReadonlyArray<{ readonly title: CompiledField; readonly messageURL: CompiledField; readonly picURL?: CompiledField }>;
  readonly at?: {
    readonly mobiles: readonly CompiledField[];
    readonly userIds: readonly CompiledField[];
    readonly all?: boolean;
    readonly initiator?: boolean;
  };
}

export interface CompiledTemplate {
  readonly message?: CompiledField;
  readonly dingtalk?: CompiledDingTalk;
}

export type TemplateCompileResult =
  | { ok: true; template: CompiledTemplate }
  | { ok: false; errors: TemplateFieldError[] };

export function compileTemplate(spec: NotificationTemplateSpec): TemplateCompileResult {
  const errors: TemplateFieldError[] = [];
  const field = (path: string, source: string | undefined): CompiledField | undefined => {
    if (source === undefined || source === null) return undefined;
    const compiled = compileField(path, String(source));
    if ('message' in compiled) {
      errors.push(compiled);
      return undefined;
    }
    return compiled;
  };
  // Compiles a field the schema requires; a missing one is an error of its own.
  const required = (path: string, source: string | undefined, why: string): CompiledField => {
    if (source === undefined || source === null) errors.push({ field: path, message: `required ${why}` });
    return field(path, source ?? '') ?? { field: path, constant: '' };
  };

  if (!spec.message && !spec.dingtalk) errors.push({ field: 'spec', message: 'a template needs message or dingtalk' });
  const message = field('message', spec.message);

  let dingtalk: CompiledDingTalk | undefined;
  if (spec.dingtalk) {
    const d = spec.dingtalk;
    const msgType = d.msgType ?? 'markdown';
    const needs = (name: keyof typeof d, types: string[]) =>
      types.includes(msgType) ? required(`dingtalk.${name}`, d[name] as string | undefined, `for msgType ${msgType}`) : field(`dingtalk.${name}`, d[name] as string | undefined);
    const title = needs('title', ['markdown', 'link', 'actionCard']);
    const text = needs('text', ['markdown', 'text', 'link', 'actionCard']);
    const messageURL = needs('messageURL', ['link']);
    const picURL = field('dingtalk.picURL', d.picURL);
    const singleTitle = field('dingtalk.singleTitle', d.singleTitle);
    const singleURL = field('dingtalk.singleURL', d.singleURL);
    const btns = d.btns?.map((b, i) => ({
      title: required(`dingtalk.btns[${i}].title`, b.title, 'for a button'),
      actionURL: required(`dingtalk.btns[${i}].actionURL`, b.actionURL, 'for a button'),
    }));
    const links = d.links?.map((l, i) => {
      const pic = field(`dingtalk.links[${i}].picURL`, l.picURL);
      return {
        title: required(`dingtalk.links[${i}].title`, l.title, 'for a link'),
        messageURL: required(`dingtalk.links[${i}].messageURL`, l.messageURL, 'for a link'),
        ...(pic ? { picURL: pic } : {}),
      };
    });
    if (msgType === 'actionCard' && !(d.singleTitle !== undefined && d.singleURL !== undefined) && !(btns && btns.length > 0)) {
      errors.push({ field: 'dingtalk', message: 'an actionCard needs singleTitle with singleURL, or btns' });
    }
    if (msgType === 'feedCard' && !(links && links.length > 0)) {
      errors.push({ field: 'dingtalk.links', message: 'required for msgType feedCard' });
    }
    const at = d.at && {
      mobiles: (d.at.mobiles ?? []).flatMap((m, i) => field(`dingtalk.at.mobiles[${i}]`, m) ?? []),
      userIds: (d.at.userIds ?? []).flatMap((u, i) => field(`dingtalk.at.userIds[${i}]`, u) ?? []),
      ...(d.at.all === undefined ? {} : { all: d.at.all }),
      ...(d.at.initiator === undefined ? {} : { initiator: d.at.initiator }),
    };
    dingtalk = definedOnly({
      msgType,
      title,
      text,
      messageURL,
      picURL,
      singleTitle,
      singleURL,
      btnOrientation: d.btnOrientation,
      btns,
      links,
      at,
    }) as CompiledDingTalk;
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, template: definedOnly({ message, dingtalk }) as CompiledTemplate };
}

/** `dingtalk.text: line 3, column 14: unexpected token '}}'` */
export function formatTemplateError(error: TemplateFieldError): string {
  const where = error.line === undefined ? '' : error.column === undefined ? ` line ${error.line}:` : ` line ${error.line}, column ${error.column}:`;
  return `${error.field}:${where} ${error.message}`;
}

/** All errors in one line, for a Ready condition message. */
export function formatTemplateErrors(errors: readonly TemplateFieldError[]): string {
  return errors.map(formatTemplateError).join('; ');
}

/** Compiles one template string (exported for `herald check` and tests). */
export function compileField(field: string, source: string): CompiledField | TemplateFieldError {
  if (!/{[{%#]/.test(source)) return { field, constant: source };
  let root: unknown;
  try {
    root = parser.parse(source, [], (templateEnvironment as unknown as { opts: unknown }).opts);
  } catch (error) {
    return syntaxError(field, source, error);
  }
  const problem = findForbidden(root);
  if (problem) return { field, ...problem };
  try {
    return { field, template: new nunjucks.Template(source, templateEnvironment, field, true) };
  } catch (error) {
    return syntaxError(field, source, error);
  }
}

// nunjucks exports its parser and node classes at run time; @types/nunjucks does not describe them.
interface TemplateNode {
  typename: string;
  lineno: number;
  colno: number;
  fields: string[];
  [field: string]: unknown;
}
const parser = (nunjucks as unknown as { parser: { parse(src: string, extensions: unknown[], opts: unknown): unknown } }).parser;
const NodeClass = (nunjucks as unknown as { nodes: { Node: new () => TemplateNode } }).nodes.Node;

const NOT_AVAILABLE = new Set(['Include', 'Import', 'FromImport', 'Extends']);

/** Walks the parsed template for what compiles but cannot work or is not allowed. */
function findForbidden(root: unknown): Omit<TemplateFieldError, 'field'> | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) {
      stack.push(...item);
      continue;
    }
    if (!(item instanceof NodeClass)) continue;
    const node = item;
    const at = { line: node.lineno + 1, column: node.colno + 1 };
    if (NOT_AVAILABLE.has(node.typename)) {
      const tag = node.typename === 'FromImport' ? 'from … import' : node.typename.toLowerCase();
      return { ...at, message: `{% ${tag} %} is not available: each template field is self-contained` };
    }
    if (node.typename === 'Filter') {
      const name = literalOf(node.name);
      if (typeof name === 'string' && !hasFilter(name)) return { ...at, message: `unknown filter '${name}'` };
      if (name === 'date') {
        const args = (node.args as { children?: unknown[] } | undefined)?.children ?? [];
        const zone = literalOf(args[2]);
        if (typeof zone === 'string' && !isTimeZone(zone)) return { ...at, message: `unknown time zone '${zone}' (use an IANA name such as Asia/Shanghai)` };
      }
    }
    if (node.typename === 'LookupVal' || node.typename === 'Symbol') {
      const key = node.typename === 'Symbol' ? node.value : literalOf(node.val);
      if (typeof key === 'string' && BLOCKED_PROPERTIES.has(key)) return { ...at, message: `'${key}' may not be used in a template` };
    }
    for (const name of node.fields) stack.push(node[name]);
  }
  return undefined;
}

function literalOf(node: unknown): unknown {
  if (!(node instanceof NodeClass)) return undefined;
  return node.typename === 'Literal' || node.typename === 'Symbol' ? node.value : undefined;
}

function syntaxError(field: string, source: string, error: unknown): TemplateFieldError {
  const e = error as { message?: string; lineno?: number; colno?: number } | undefined;
  let message = String(e?.message ?? error);
  // A compile error thrown by Template carries the position in its text instead.
  const located = /\[Line (\d+), Column (\d+)\]\s*([\s\S]*)$/.exec(message);
  let line = e?.lineno ?? (located ? Number(located[1]) : undefined);
  let column = e?.colno ?? (located ? Number(located[2]) : undefined);
  if (located) message = located[3]!;
  message = message.replace(/^\([^)]*\)\s*/, '').replace(/^(Template render error|TypeError|Error):\s*/, '').trim();
  // Without a position, the parser ran out of input: the template stops inside a
  // tag, an expression or a block.
  if (line === undefined || /reading 'type'|end of file/.test(message)) {
    if (/reading 'type'/.test(message)) message = 'unexpected end of template (an unclosed tag or bracket?)';
    else if (!/end of file/.test(message)) message = `unexpected end of template: ${message.replace(/^[a-zA-Z]+: (?=expected)/, '')}`;
    line = source.split('\n').length;
    column = undefined;
  }
  message = message
    .replace(/^[a-zA-Z]+: (?=expected)/, '')
    .replace(/^unexpected token: (.+)$/, "unexpected token '$1'")
    .replace(/\bend of file\b/, 'end of template');
  return { field, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }), message };
}

function definedOnly<T extends Record<string, unknown>>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}
