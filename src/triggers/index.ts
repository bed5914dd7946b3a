// Triggers: CEL conditions over an Argo CD Application, compiled once, evaluated purely.
export {
  compileTrigger,
  formatConditionError,
  formatTriggerErrors,
  DEFAULT_CONDITION_NAME,
  type CompiledCondition,
  type CompiledTrigger,
  type ConditionError,
  type ConditionField,
  type TriggerCompileResult,
} from './compile.js';
export { DEFAULT_CEL_LIMITS, LIMIT_FLAGS, type CelLimits } from './budget.js';
export { evaluateTrigger, type ConditionOutcome, type ConditionResult, type NotifiedLookup } from './evaluate.js';
export { applicationSchema } from './app-schema.js';
