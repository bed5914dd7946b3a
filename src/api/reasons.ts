// Condition types and reasons herald writes on its resources' status.
export const READY = 'Ready';

export const Reasons = {
  Ready: 'Ready',
  InvalidCondition: 'InvalidCondition',
  /** A trigger expression whose estimated cost is over --cel-cost-limit. */
  CostLimitExceeded: 'CostLimitExceeded',
  InvalidTemplate: 'InvalidTemplate',
  SecretNotFound: 'SecretNotFound',
  InvalidSecret: 'InvalidSecret',
  Unsupported: 'Unsupported',
  InvalidToken: 'InvalidToken',
  RobotRejected: 'RobotRejected',
} as const;

export const EventReasons = {
  NotificationSent: 'NotificationSent',
  NotificationFailed: 'NotificationFailed',
  NotificationQueued: 'NotificationQueued',
  NotificationsFolded: 'NotificationsFolded',
  SubscriptionInvalid: 'SubscriptionInvalid',
  EvaluationFailed: 'EvaluationFailed',
  ReadyChanged: 'Ready',
  NotReady: 'NotReady',
  InvalidContext: 'InvalidContext',
  /** On a NotificationTemplate whose render went over a budget (src/templates/limits.ts BudgetReasons). */
  RenderTimeLimit: 'RenderTimeLimit',
  RenderMemoryLimit: 'RenderMemoryLimit',
  RenderOutputLimit: 'RenderOutputLimit',
} as const;
