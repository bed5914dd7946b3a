// metav1.Condition bookkeeping: lastTransitionTime moves only when status changes.
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** RFC 3339 in whole seconds, as metav1.Time is written. */
export const metaTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function setCondition(existing: Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const others = (existing ?? []).filter((condition) => condition.type !== next.type);
  const previous = (existing ?? []).find((condition) => condition.type === next.type);
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : metaTime(now.getTime());
  return [...others, { ...next, message: next.message.slice(0, 32_000), lastTransitionTime }];
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/** Whether writing `next` would change anything a user can see. */
export function conditionsEqual(a: Condition[] | undefined, b: Condition[] | undefined): boolean {
  const key = (list: Condition[] | undefined) =>
    JSON.stringify(
      (list ?? [])
        .map(({ type, status, reason, message, observedGeneration, lastTransitionTime }) => [type, status, reason, message, observedGeneration, lastTransitionTime])
        .sort(),
    );
  return key(a) === key(b);
}
