// Condition types and reasons herald writes on its resources' status.
export const READY = 'Ready';
/** DingTalkChannel: True while DingTalk has muted the robot (errcode 130101). */
export const RATE_LIMITED = 'RateLimited';

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
  /** RateLimited=True: DingTalk answered 130101; nothing is sent until the time in the message. */
  Muted: 'Muted',
  /** RateLimited=False: the robot takes messages (within spec.rateLimit.perMinute). */
  Accepting: 'Accepting',
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
