// Renders a compiled template into plain data. Every field is rendered on its own
// into a string; no message body is ever produced by templating JSON.
import { TemplateRenderError } from '../errors.js';
import type { CompiledField, CompiledTemplate } from './compile.js';
import type { RenderedDingTalk, RenderedNotification, TemplateContext } from './types.js';

/** @throws TemplateRenderError naming the field that failed */
export function renderTemplate(compiled: CompiledTemplate, ctx: TemplateContext): RenderedNotification {
  const out: RenderedNotification = {};
  if (compiled.message) out.message = renderField(compiled.message, ctx);
  const d = compiled.dingtalk;
  if (d) {
    const dingtalk: RenderedDingTalk = { msgType: d.msgType };
    if (d.title) dingtalk.title = renderField(d.title, ctx);
    if (d.text) dingtalk.text = renderField(d.text, ctx);
    if (d.messageURL) dingtalk.messageURL = renderField(d.messageURL, ctx);
    if (d.picURL) dingtalk.picURL = renderField(d.picURL, ctx);
    if (d.singleTitle) dingtalk.singleTitle = renderField(d.singleTitle, ctx);
    if (d.singleURL) dingtalk.singleURL = renderField(d.singleURL, ctx);
    if (d.btnOrientation) dingtalk.btnOrientation = d.btnOrientation;
    if (d.btns) dingtalk.btns = d.btns.map((b) => ({ title: renderField(b.title, ctx), actionURL: renderField(b.actionURL, ctx) }));
    if (d.links) {
      dingtalk.links = d.links.map((l) => {
        const picURL = l.picURL && renderField(l.picURL, ctx);
        return { title: renderField(l.title, ctx), messageURL: renderField(l.messageURL, ctx), ...(picURL ? { picURL } : {}) };
      });
    }
    if (d.at) {
      // A mention that renders empty (e.g. `{{ app.metadata.annotations.oncall }}` unset) is dropped.
      const mobiles = d.at.mobiles.map((m) => renderField(m, ctx).trim()).filter((m) => m !== '');
      const userIds = d.at.userIds.map((u) => renderField(u, ctx).trim()).filter((u) => u !== '');
      dingtalk.at = {
        ...(mobiles.length > 0 ? { mobiles } : {}),
        ...(userIds.length > 0 ? { userIds } : {}),
        ...(d.at.all === undefined ? {} : { all: d.at.all }),
        ...(d.at.initiator === undefined ? {} : { initiator: d.at.initiator }),
      };
    }
    out.dingtalk = dingtalk;
  }
  return out;
}

export function renderField(field: CompiledField, ctx: TemplateContext): string {
  if ('constant' in field) return field.constant;
  try {
    return field.template.render(ctx as unknown as object);
  } catch (error) {
    const { message, line } = describeRenderError(error);
    throw new TemplateRenderError(field.field, message, { cause: error, ...(line === undefined ? {} : { line }) });
  }
}

/**
 * nunjucks wraps render errors as "(name) [Line 1, Column 5]\n  Error: what"; keep what
 * and where. At render time its line numbers are 0-based (unlike its compile errors).
 */
function describeRenderError(error: unknown): { message: string; line?: number } {
  const text = error instanceof Error ? error.message : String(error);
  const located = /\[Line (\d+), Column \d+\]/.exec(text);
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  // The innermost cause is the last line; drop nunjucks' own prefixes.
  const last = (lines[lines.length - 1] ?? text).replace(/^\([^)]*\)\s*/, '').replace(/^(Template render error|[A-Za-z]*Error):\s*/, '');
  return { message: last || 'render failed', ...(located ? { line: Number(located[1]) + 1 } : {}) };
}

/** Who started the sync: `operation.initiatedBy.username`; undefined when automated or unknown. */
export function initiatorOf(app: unknown): string | undefined {
  const initiatedBy = (app as { status?: { operationState?: { operation?: { initiatedBy?: { username?: unknown; automated?: unknown } } } } } | null)
    ?.status?.operationState?.operation?.initiatedBy;
  if (!initiatedBy || initiatedBy.automated === true) return undefined;
  return typeof initiatedBy.username === 'string' && initiatedBy.username !== '' ? initiatedBy.username : undefined;
}
