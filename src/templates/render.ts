// Renders a compiled template into plain data. Every field is rendered on its own
// into a string; no message body is ever produced by templating JSON.
import { TemplateRenderError } from '../errors.js';
import type { CompiledField, CompiledTemplate } from './compile.js';
import { withOutputCap } from './environment.js';
import { DEFAULT_RENDER_LIMITS, memoryLimitError, outputLimitError, type RenderLimits } from './limits.js';
import type { RenderedDingTalk, RenderedNotification, TemplateContext } from './types.js';

/** What one render may still produce: the fields of a message share one output cap. */
interface OutputBudget {
  readonly limits: Pick<RenderLimits, 'maxOutputBytes' | 'memoryMiB'>;
  remaining: number;
}

/**
 * Renders in this process with the output cap; time and memory are bounded only
 * when this runs in a render process (src/sandbox/).
 * @throws TemplateRenderError naming the field that failed
 * @throws TemplateBudgetError (RenderOutputLimit, RenderMemoryLimit)
 */
export function renderTemplate(
  compiled: CompiledTemplate,
  ctx: TemplateContext,
  limits: Pick<RenderLimits, 'maxOutputBytes' | 'memoryMiB'> = DEFAULT_RENDER_LIMITS,
): RenderedNotification {
  const budget: OutputBudget = { limits, remaining: limits.maxOutputBytes };
  const renderField = (field: CompiledField, context: TemplateContext) => renderBudgeted(field, context, budget);
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

/** Renders one field with the default output cap. */
export function renderField(field: CompiledField, ctx: TemplateContext): string {
  return renderBudgeted(field, ctx, { limits: DEFAULT_RENDER_LIMITS, remaining: DEFAULT_RENDER_LIMITS.maxOutputBytes });
}

function renderBudgeted(field: CompiledField, ctx: TemplateContext, budget: OutputBudget): string {
  const text = 'constant' in field ? field.constant : renderTemplateField(field, ctx, budget);
  budget.remaining -= Buffer.byteLength(text, 'utf8');
  if (budget.remaining < 0) throw outputLimitError(field.field, budget.limits);
  return text;
}

function renderTemplateField(field: Extract<CompiledField, { template: unknown }>, ctx: TemplateContext, budget: OutputBudget): string {
  const result = withOutputCap(Math.max(0, budget.remaining), () => field.template.render(ctx as unknown as object));
  if (result.error === undefined) return result.value!;
  const error = result.error;
  if (result.tripped) throw outputLimitError(field.field, budget.limits);
  const { message, line } = describeRenderError(error);
  // A string or array past V8's own size limits: the render asked for far too much memory.
  if (/Invalid string length|Invalid array length|Array buffer allocation failed/.test(message)) throw memoryLimitError(budget.limits, message);
  throw new TemplateRenderError(field.field, message, { cause: error, ...(line === undefined ? {} : { line }) });
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
