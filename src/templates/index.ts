// Templates: nunjucks, compiled once per NotificationTemplate, rendered purely into data.
export {
  compileTemplate,
  compileField,
  formatTemplateError,
  formatTemplateErrors,
  type CompiledDingTalk,
  type CompiledField,
  type CompiledTemplate,
  type TemplateCompileResult,
  type TemplateFieldError,
} from './compile.js';
export { renderTemplate, renderField, initiatorOf } from './render.js';
export { templateEnvironment } from './environment.js';
export { heraldFilters, DEFAULT_DATE_FORMAT } from './filters/index.js';
export type { RenderedButton, RenderedDingTalk, RenderedLink, RenderedNotification, TemplateContext } from './types.js';
export {
  BudgetReasons,
  DEFAULT_RENDER_LIMITS,
  RENDER_LIMIT_FLAGS,
  TemplateBudgetError,
  budgetErrorFrom,
  isBudgetReason,
  memoryLimitError,
  outputLimitError,
  timeLimitError,
  type BudgetReason,
  type RenderLimits,
} from './limits.js';
