// Output conventions of the benches: human-readable lines while running (stderr is
// left to child processes), then exactly one JSON line with every figure on stdout.
import { cpus, totalmem } from 'node:os';

export function printer(prefix: string): (line: string) => void {
  return (line: string) => process.stdout.write(`[${prefix}] ${line}\n`);
}

export function machine(): Record<string, unknown> {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
}

/** The final line: one JSON object, NaN and Infinity as null. */
export function printJson(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result, (_, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value))}\n`);
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a';
}

export function seconds(valueMs: number): string {
  return Number.isFinite(valueMs) ? `${(valueMs / 1000).toFixed(1)} s` : 'n/a';
}

/** "met" / "missed by X" for a figure against an upper bound. */
export function verdict(value: number, limit: number, unit: string): string {
  if (!Number.isFinite(value)) return 'no figure';
  if (value <= limit) return `met (≤ ${limit} ${unit})`;
  const over = value - limit;
  return `MISSED by ${Math.round(over * 10) / 10} ${unit} (${Math.round((value / limit) * 100) / 100}× the target ${limit} ${unit})`;
}
