// Matching what the robot received to the changes bench/engine made: every change
// shows a unique 12-digit revision in its message, so each robot request names the
// change that caused it.
import type { ReceivedRequest } from '../../test/support/dingtalk-robot.js';
import type { LogRecord } from '../lib/operator.js';
import { distribution, type Distribution } from '../lib/stats.js';
import { appName, type AppState } from './apps.js';

export interface Change {
  app: number;
  kind: AppState['kind'];
  rev12: string;
  sentAt: number;
  acceptedAt?: number;
  error?: string;
}

export interface Delivery {
  expected: number;
  received: number;
  lost: number;
  /** Of the lost: the same app changed again later, so the operator may have seen only the newer state. */
  lostSuperseded: number;
  duplicates: number;
  unexpected: number;
  latencyMs: Distribution;
  firstAt: number;
  lastAt: number;
}

/** The 12 revision digits the message prints ("版本 (Revision): …"). */
export function revisionShown(request: ReceivedRequest): string | undefined {
  const text = String((request.json as { markdown?: { text?: string } } | undefined)?.markdown?.text ?? '');
  return /\(Revision\): ([0-9a-f]{12})/.exec(text)?.[1];
}

/** First acceptance time of each revision among requests[from…]. */
export function firstReceipts(requests: readonly ReceivedRequest[], from = 0): Map<string, number> {
  const first = new Map<string, number>();
  for (let i = from; i < requests.length; i++) {
    const request = requests[i]!;
    if (!request.accepted) continue;
    const rev = revisionShown(request);
    if (rev && !first.has(rev)) first.set(rev, request.time);
  }
  return first;
}

/** Matches robot requests (from index `from`) to changes by the revision they show. */
export function match(changes: Change[], requests: readonly ReceivedRequest[], from: number): Delivery {
  const byRev = new Map(changes.map((change) => [change.rev12, change]));
  const first = new Map<string, number>();
  let duplicates = 0;
  let unexpected = 0;
  for (let i = from; i < requests.length; i++) {
    const request = requests[i]!;
    const rev = revisionShown(request);
    if (!rev || !byRev.has(rev) || !request.accepted) {
      unexpected++;
      continue;
    }
    if (first.has(rev)) duplicates++;
    else first.set(rev, request.time);
  }
  const latencies: number[] = [];
  for (const [rev, at] of first) {
    const change = byRev.get(rev)!;
    if (change.acceptedAt !== undefined) latencies.push(at - change.acceptedAt);
  }
  const times = [...first.values()];
  const lastChangeOf = new Map<number, Change>();
  for (const change of changes) lastChangeOf.set(change.app, change);
  const lostSuperseded = changes.filter((c) => !first.has(c.rev12) && lastChangeOf.get(c.app) !== c).length;
  return {
    expected: changes.length,
    received: first.size,
    lost: changes.length - first.size,
    lostSuperseded,
    duplicates,
    unexpected,
    latencyMs: distribution(latencies),
    firstAt: times.length ? Math.min(...times) : NaN,
    lastAt: times.length ? Math.max(...times) : NaN,
  };
}

/** When the operator had decided to send, per app ("namespace/name" → epoch ms), from its log. */
export type DecisionLines = (records: readonly LogRecord[]) => Map<string, number[]>;

/** herald: "notification decided" (the message is in the app's outbox). */
export const heraldDecisions: DecisionLines = (records) => decisions(records, (r) => r.msg === 'notification decided', 'app');
/** The anchor: the engine's "Sending notification about condition …" (just before the POST). */
export const anchorDecisions: DecisionLines = (records) => decisions(records, (r) => typeof r.msg === 'string' && r.msg.startsWith('Sending notification'), 'resource');

function decisions(records: readonly LogRecord[], is: (r: LogRecord) => boolean, appField: string): Map<string, number[]> {
  const decided = new Map<string, number[]>();
  for (const record of records) {
    const app = record[appField];
    if (!is(record) || typeof app !== 'string' || !record.time) continue;
    const list = decided.get(app) ?? [];
    list.push(Date.parse(record.time));
    decided.set(app, list);
  }
  return decided;
}

/**
 * Splits each delivered change's latency at the operator's decision line: patch
 * accepted → decided (watch, queue, evaluation, herald's outbox patch) and decided →
 * robot received (herald: dispatcher wait and send; the anchor: rendering and send).
 */
export function split(changes: Change[], requests: readonly ReceivedRequest[], from: number, decided: Map<string, number[]>, namespace: string): { decideMs: Distribution; deliverMs: Distribution } {
  const received = firstReceipts(requests, from);
  const decideMs: number[] = [];
  const deliverMs: number[] = [];
  for (const change of changes) {
    const at = received.get(change.rev12);
    if (at === undefined || change.acceptedAt === undefined) continue;
    const when = decided.get(`${namespace}/${appName(change.app)}`)?.find((t) => t >= change.sentAt - 5 && t <= at + 5);
    if (when === undefined) continue;
    decideMs.push(when - change.acceptedAt);
    deliverMs.push(at - when);
  }
  return { decideMs: distribution(decideMs), deliverMs: distribution(deliverMs) };
}
