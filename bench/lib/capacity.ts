// Sustained capacity from a step-up run: the offered change rate goes up in steps;
// a step is "bounded" when the operator's backlog (changes accepted by the API server
// whose message has not arrived yet) stops growing. Unlike latency at one fixed rate,
// the rate at which the backlog starts to grow does not move much with machine noise.
// Pure functions: bench/engine runs the steps, these judge them.

export interface TimedChange {
  app: number;
  /** When the API server accepted the change (epoch ms); undefined when it failed. */
  acceptedAt?: number;
  /** When the robot received its message (epoch ms); undefined when it never did. */
  deliveredAt?: number;
}

/**
 * When each change stopped being owed (epoch ms): its delivery, or, for one never
 * delivered, the next change of the same app (an operator reading the latest state may
 * legitimately skip a state that is already gone). undefined: still owed.
 */
export function resolvedTimes(changes: readonly TimedChange[]): Array<number | undefined> {
  const nextOfApp = new Map<number, number>();
  const resolved: Array<number | undefined> = new Array(changes.length);
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i]!;
    const next = nextOfApp.get(change.app);
    resolved[i] = change.deliveredAt ?? next;
    if (change.acceptedAt !== undefined) nextOfApp.set(change.app, change.acceptedAt);
  }
  return resolved;
}

export interface BacklogSample {
  /** Seconds since the start of the window. */
  t: number;
  outstanding: number;
}

/** Changes accepted but not yet resolved, sampled every `everyMs` from `from` to `to` (epoch ms). */
export function backlogSeries(changes: readonly TimedChange[], from: number, to: number, everyMs = 1000): BacklogSample[] {
  const resolved = resolvedTimes(changes);
  const samples: BacklogSample[] = [];
  for (let at = from; at <= to; at += everyMs) {
    let outstanding = 0;
    changes.forEach((change, i) => {
      if (change.acceptedAt === undefined || change.acceptedAt > at) return;
      const done = resolved[i];
      if (done === undefined || done > at) outstanding++;
    });
    samples.push({ t: (at - from) / 1000, outstanding });
  }
  return samples;
}

/** Least-squares slope of outstanding over t (changes per second); 0 for fewer than two samples. */
export function slope(samples: readonly BacklogSample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const meanT = samples.reduce((a, s) => a + s.t, 0) / n;
  const meanY = samples.reduce((a, s) => a + s.outstanding, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - meanT) * (s.outstanding - meanY);
    den += (s.t - meanT) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface StepCriteria {
  /** Unbounded when the backlog grows faster than this share of the offered rate (default 0.1). */
  maxGrowthShare: number;
  /** Unbounded when the backlog exceeds this many seconds of offered changes (default 10). */
  maxLagSeconds: number;
  /** A step whose achieved rate is below this share of the target says nothing (default 0.9). */
  minAchievedShare: number;
}

export const DEFAULT_CRITERIA: StepCriteria = { maxGrowthShare: 0.1, maxLagSeconds: 10, minAchievedShare: 0.9 };

export interface StepVerdict {
  rate: number;
  achievedRate: number;
  /** Backlog growth over the second half of the step, changes per second. */
  growthPerSecond: number;
  /** Highest backlog in the second half of the step. */
  maxOutstanding: number;
  endOutstanding: number;
  verdict: 'bounded' | 'growing' | 'generator-limited';
}

/** Judges one step from its backlog samples (taken while the step's changes were being made). */
export function judgeStep(rate: number, achievedRate: number, samples: readonly BacklogSample[], criteria: StepCriteria = DEFAULT_CRITERIA): StepVerdict {
  const half = samples.slice(Math.floor(samples.length / 2));
  const growthPerSecond = slope(half);
  const maxOutstanding = Math.max(0, ...half.map((s) => s.outstanding));
  const endOutstanding = samples.at(-1)?.outstanding ?? 0;
  let verdict: StepVerdict['verdict'] = 'bounded';
  if (achievedRate < criteria.minAchievedShare * rate) verdict = 'generator-limited';
  else if (growthPerSecond > criteria.maxGrowthShare * rate || maxOutstanding > criteria.maxLagSeconds * rate) verdict = 'growing';
  return { rate, achievedRate, growthPerSecond, maxOutstanding, endOutstanding, verdict };
}

/** Whether the step-up run goes on after these steps: only while every step was bounded. */
export function keepStepping(steps: readonly StepVerdict[]): boolean {
  return steps.every((s) => s.verdict === 'bounded');
}

export interface Capacity {
  /** Highest offered rate whose step (and every lower one) was bounded; 0 when none was. */
  sustainedRate: number;
  /** What ended the search: the backlog grew, the load generator fell short, or the steps ran out. */
  limitedBy: 'backlog' | 'load generator' | 'highest step';
  /** The first rate that was not sustained, if any. */
  firstFailedRate?: number;
}

export function capacityOf(steps: readonly StepVerdict[]): Capacity {
  let sustainedRate = 0;
  for (const step of steps) {
    if (step.verdict === 'bounded') {
      sustainedRate = Math.max(sustainedRate, step.rate);
      continue;
    }
    return { sustainedRate, limitedBy: step.verdict === 'growing' ? 'backlog' : 'load generator', firstFailedRate: step.rate };
  }
  return { sustainedRate, limitedBy: 'highest step' };
}

/** "≥ 300/s" when the steps ran out, "60/s" when the backlog or the generator stopped it. */
export function formatCapacity(capacity: Capacity): string {
  const prefix = capacity.limitedBy === 'backlog' ? '' : '≥ ';
  return `${prefix}${capacity.sustainedRate}/s`;
}
