// The side-by-side tables of `make bench-compare`, from bench/engine's JSON results:
// one table per app count (churn, writes, memory, mass sync, cold start, capacity)
// and one for the many-channel shape. Each cell is the range over the rounds.
import { formatCapacity, type Capacity } from '../lib/capacity.js';
import { formatMs, formatNumber, formatRange, renderTable, type Row } from '../lib/table.js';

/** The parts of bench/engine's JSON line that the tables read. */
export interface EngineResult {
  label: string;
  apps: number;
  channels: number;
  peakRssMiB?: number;
  coldStart?: { idleMs: number; messages: number };
  churn?: {
    expected: number;
    received: number;
    lost: number;
    duplicates: number;
    latencyMs: { p50: number; p99: number };
    cpuSecondsPer1000: number;
    controlPlaneCpuSeconds: number;
    apiWritesPerNotification: number;
    ratePerSecond: number;
    robotRefusedTooFast?: number;
  };
  massSync?: { apps: number; lastDeliveredMs: number; received: number; expected: number; lost: number; duplicates: number };
  capacity?: Capacity;
}

export interface RunRecord {
  round: number;
  result: EngineResult;
}

type Pick = (r: EngineResult) => number | undefined;

const cell = (runs: readonly EngineResult[], pick: Pick, format: (v: number) => string): string => formatRange(runs.map(pick), format);
const pair = (runs: readonly EngineResult[], a: Pick, b: Pick, format: (v: number) => string): string => `${cell(runs, a, format)} / ${cell(runs, b, format)}`;
const cpuSeconds = (v: number) => `${formatNumber(v, 1)} CPU-s`;
const mib = (v: number) => `${formatNumber(v)} MiB`;
const count = (v: number) => formatNumber(v);
const secondsOf = (v: number) => `${formatNumber(v / 1000, 1)} s`;

function capacityCell(runs: readonly EngineResult[]): string {
  const capacities = runs.map((r) => r.capacity).filter((c): c is Capacity => c !== undefined);
  if (capacities.length === 0) return 'n/a';
  const low = capacities.reduce((a, b) => (a.sustainedRate <= b.sustainedRate ? a : b));
  const high = capacities.reduce((a, b) => (a.sustainedRate >= b.sustainedRate ? a : b));
  return low.sustainedRate === high.sustainedRate ? formatCapacity(high) : `${formatCapacity(low)}–${formatCapacity(high)}`;
}

function deliveredCell(runs: readonly EngineResult[], part: 'churn' | 'massSync'): string {
  const withPart = runs.filter((r) => r[part] !== undefined);
  if (withPart.length === 0) return 'n/a';
  const expected = formatRange(withPart.map((r) => r[part]!.expected), count);
  return `${formatRange(withPart.map((r) => r[part]!.received), count)} of ${expected}, ${formatRange(withPart.map((r) => r[part]!.duplicates), count)} dup.`;
}

/** Columns in the order first seen; rows with the figures of every run of that column. */
function columnsOf(records: readonly RunRecord[]): { columns: string[]; runsOf: (column: string) => EngineResult[] } {
  const columns = [...new Set(records.map((r) => r.result.label))];
  return { columns, runsOf: (column) => records.filter((r) => r.result.label === column).map((r) => r.result) };
}

export function mainTable(records: readonly RunRecord[], apps: number, rate: number): string {
  const { columns, runsOf } = columnsOf(records.filter((r) => r.result.apps === apps && r.result.channels === 1));
  const rounds = new Set(records.map((r) => r.round)).size;
  const spec: Array<[string, (runs: EngineResult[]) => string]> = [
    [`churn latency p50 / p99 (${rate} changes/s)`, (runs) => pair(runs, (r) => r.churn?.latencyMs.p50, (r) => r.churn?.latencyMs.p99, formatMs)],
    ['churn: delivered, duplicates (robot requests)', (runs) => deliveredCell(runs, 'churn')],
    ['CPU per 1,000 notifications', (runs) => cell(runs, (r) => r.churn?.cpuSecondsPer1000, cpuSeconds)],
    ['API writes per notification (API server\'s count)', (runs) => cell(runs, (r) => r.churn?.apiWritesPerNotification, (v) => formatNumber(v, 2))],
    ['control-plane CPU during the churn', (runs) => cell(runs, (r) => r.churn?.controlPlaneCpuSeconds, cpuSeconds)],
    ['peak RSS', (runs) => cell(runs, (r) => r.peakRssMiB, mib)],
    ['mass sync of 1,000: last message', (runs) => cell(runs, (r) => r.massSync?.lastDeliveredMs, secondsOf)],
    ['mass sync: delivered, duplicates', (runs) => deliveredCell(runs, 'massSync')],
    ['cold start: idle after (messages sent)', (runs) => `${cell(runs, (r) => r.coldStart?.idleMs, secondsOf)} (${cell(runs, (r) => r.coldStart?.messages, count)})`],
    ['sustained capacity (step-up)', capacityCell],
  ];
  const rows: Row[] = spec.map(([label, make]) => ({ label, cells: columns.map((c) => make(runsOf(c))) }));
  return renderTable(`${formatNumber(apps)} apps (${rounds} round${rounds === 1 ? '' : 's'})`, columns, rows);
}

export function shapeTable(records: readonly RunRecord[]): string | undefined {
  const shaped = records.filter((r) => r.result.channels > 1);
  if (shaped.length === 0) return undefined;
  const first = shaped[0]!.result;
  const { columns, runsOf } = columnsOf(shaped);
  const spec: Array<[string, (runs: EngineResult[]) => string]> = [
    [`churn latency p50 / p99`, (runs) => pair(runs, (r) => r.churn?.latencyMs.p50, (r) => r.churn?.latencyMs.p99, formatMs)],
    ['delivered, duplicates (robot requests)', (runs) => deliveredCell(runs, 'churn')],
    ['refused by a robot as too fast (130101)', (runs) => cell(runs, (r) => r.churn?.robotRefusedTooFast, count)],
    ['CPU per 1,000 notifications', (runs) => cell(runs, (r) => r.churn?.cpuSecondsPer1000, cpuSeconds)],
    ['API writes per notification', (runs) => cell(runs, (r) => r.churn?.apiWritesPerNotification, (v) => formatNumber(v, 2))],
    ['peak RSS', (runs) => cell(runs, (r) => r.peakRssMiB, mib)],
  ];
  const rows: Row[] = spec.map(([label, make]) => ({ label, cells: columns.map((c) => make(runsOf(c))) }));
  const rate = first.churn?.ratePerSecond ?? 0;
  return renderTable(`${formatNumber(first.apps)} apps, ${first.channels} channels (≤ 20/min each), ~${Math.round(rate)} changes/s`, columns, rows);
}

/** Every table, with the app counts in ascending order. */
export function compareReport(records: readonly RunRecord[], rate: number): string {
  const sizes = [...new Set(records.filter((r) => r.result.channels === 1).map((r) => r.result.apps))].sort((a, b) => a - b);
  const tables = sizes.map((apps) => mainTable(records, apps, rate));
  const shape = shapeTable(records);
  if (shape) tables.push(shape);
  return tables.join('\n\n');
}
