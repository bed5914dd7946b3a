// `duration`: a length of time as people read it, e.g. `1h 2m 5s`.
//   {{ 65 | duration }}                          -> 1m 5s   (seconds)
//   {{ startedAt | duration(finishedAt) }}       -> 2m 30s  (from one instant to another)
// Units: d, h, m, s (zero units are left out; under a second: ms). Input that is not
// a number of seconds or a pair of instants renders empty.
import { toInstant } from './date.js';

export function durationFilter(value: unknown, end?: unknown): string {
  let seconds: number;
  if (end !== undefined) {
    const from = toInstant(value);
    const to = toInstant(end);
    if (from === undefined || to === undefined) return '';
    seconds = (to - from) / 1000;
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    seconds = Number(value);
  } else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) {
    seconds = Number(value);
  } else {
    return '';
  }
  return Number.isFinite(seconds) ? humanDuration(seconds) : '';
}

export function humanDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  const abs = Math.abs(seconds);
  if (abs > 0 && abs < 1) return `${sign}${Math.round(abs * 1000)}ms`;
  let rest = Math.floor(abs);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.length === 0 ? '0s' : sign + parts.join(' ');
}
