// The one CEL environment all trigger expressions are compiled in.
import { Environment } from '@marcbachmann/cel-js';
import { applicationSchema } from './app-schema.js';
import { Slot } from './slot.js';

/** What the functions `now()` and `notified()` answer during one evaluation. */
export interface EvaluationScope {
  now: Date;
  /** When herald last decided to notify `trigger` for this app, in Unix seconds. */
  notifiedAt?: ((trigger: string) => number | undefined) | undefined;
}

// The scope of the evaluation in progress, set by withScope() around each call, which
// keeps evaluateTrigger pure.
const scopes = new Slot<EvaluationScope>();

export function withScope<T>(scope: EvaluationScope, run: () => T): T {
  return scopes.during(scope, run);
}

function scope(fn: string): EvaluationScope {
  const current = scopes.current;
  if (!current) throw new Error(`${fn} is only available while a trigger is evaluated`);
  return current;
}

const EPOCH = new Date(0);

export const TIMESTAMP = 'google.protobuf.Timestamp';

export const triggerEnvironment: Environment = new Environment({
  // Expressions are small; these limits only stop pathological input early.
  limits: { maxAstNodes: 2000, maxDepth: 64, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 16 },
})
  .registerVariable({ name: 'app', schema: applicationSchema, description: 'The Argo CD Application' })
  .registerFunction(`now(): ${TIMESTAMP}`, () => scope('now()').now, {
    description: 'The time of this evaluation',
  })
  .registerFunction(
    `notified(string): ${TIMESTAMP}`,
    (trigger: string) => {
      const seconds = scope('notified()').notifiedAt?.(trigger);
      return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : EPOCH;
    },
    {
      description:
        'When herald last decided to notify the named trigger for this Application (from its send ledger); timestamp(0) when never',
      params: [{ name: 'trigger', description: 'NotificationTrigger name' }],
    },
  );
