// A render process: compiles and renders NotificationTemplates on request, one at a
// time, with the operator's own template code. It runs with a small heap
// (--max-old-space-size) and is killed by the pool at the render deadline; when it
// dies, only the render in progress fails. It exits when the operator goes away.
import { LRUCache } from 'lru-cache';
import { TemplateRenderError } from '../errors.js';
import { compileTemplate, formatTemplateErrors, type CompiledTemplate } from '../templates/compile.js';
import { TemplateBudgetError } from '../templates/limits.js';
import { renderTemplate } from '../templates/render.js';
import type { ChildMessage, ChildOptions, RenderFailure, RenderRequest } from './protocol.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const compiled = new LRUCache<string, CompiledTemplate>({ max: 500 });

function compile(request: RenderRequest): CompiledTemplate {
  const cached = request.key === undefined ? undefined : compiled.get(request.key);
  if (cached) return cached;
  const result = compileTemplate(request.spec);
  if (!result.ok) throw new CompileFailed(formatTemplateErrors(result.errors));
  if (request.key !== undefined) compiled.set(request.key, result.template);
  return result.template;
}

class CompileFailed extends Error {}

function failureOf(error: unknown): RenderFailure {
  if (error instanceof TemplateBudgetError) return { kind: 'budget', reason: error.reason, message: error.message };
  if (error instanceof TemplateRenderError) {
    // The field and line are part of the message already; send the bare text.
    const prefix = `${error.field}:${error.line === undefined ? '' : ` line ${error.line}:`} `;
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    return { kind: 'render', field: error.field, message, ...(error.line === undefined ? {} : { line: error.line }) };
  }
  if (error instanceof CompileFailed) return { kind: 'compile', message: error.message };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

process.on('message', (request: RenderRequest) => {
  try {
    send({ id: request.id, ok: true, rendered: renderTemplate(compile(request), request.context, options) });
  } catch (error) {
    send({ id: request.id, ok: false, failure: failureOf(error) });
  }
});
// The operator is gone (or closed the channel): nothing left to do.
process.on('disconnect', () => process.exit(0));
send({ ready: true });
