// bench/compare (make bench-compare): herald against the anchor (Argo CD's
// notifications-engine with 8 and with 1 processor, bench/anchor/) on bench/engine's
// workload, in alternating runs (round 1: herald, engine 8, engine 1; round 2: the
// same again; …) at each app count, then the many-channel shape; prints one
// side-by-side table per app count, each cell the range over the rounds.
// Each run is its own bench/engine process under the heavy-run lock (others' test
// suites may run between two runs, never during one).
//
//   node build/bench/compare/main.js [--sizes 1000,10000] [--rounds 2] [--operators herald,anchor:8,anchor:1]
//        [--shape 200] [--shape-apps 10000] [--no-capacity] [--out DIR] [-- ENGINE ARGS…]
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../test/support/controlplane/install.js';
import { ensureAnchorBinary } from '../lib/anchor.js';
import { underHeavyLock } from '../lib/heavy-lock.js';
import { printJson, printer } from '../lib/report.js';
import { formatMs } from '../lib/table.js';
import { compareReport, type EngineResult, type RunRecord } from './tables.js';

interface Operator {
  kind: 'herald' | 'anchor';
  processors: number;
}

interface CompareOptions {
  sizes: number[];
  rounds: number;
  operators: Operator[];
  shapeChannels: number;
  shapeApps: number;
  capacity: boolean;
  out: string;
  engineArgs: string[];
}

function parse(argv: string[]): CompareOptions {
  const options: CompareOptions = {
    sizes: [1000, 10_000],
    rounds: 2,
    operators: [{ kind: 'herald', processors: 1 }, { kind: 'anchor', processors: 8 }, { kind: 'anchor', processors: 1 }],
    shapeChannels: 200,
    shapeApps: 10_000,
    capacity: true,
    out: resolve(repoRoot, 'build/bench-results/compare'),
    engineArgs: [],
  };
  const list = (text: string) => text.split(',').map((v) => v.trim()).filter(Boolean);
  const whole = (text: string, flag: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number, got "${text}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? '';
    switch (flag) {
      case '--sizes': options.sizes = list(value()).map((v) => whole(v, flag)); break;
      case '--rounds': options.rounds = Math.max(1, whole(value(), flag)); break;
      case '--shape': options.shapeChannels = whole(value(), flag); break;
      case '--shape-apps': options.shapeApps = whole(value(), flag); break;
      case '--no-capacity': options.capacity = false; break;
      case '--out': options.out = resolve(value()); break;
      case '--operators':
        options.operators = list(value()).map((item) => {
          const [kind, processors] = item.split(':');
          if (kind !== 'herald' && kind !== 'anchor') throw new Error(`--operators: ${item} is not herald or anchor[:N]`);
          return { kind, processors: processors ? Math.max(1, whole(processors, flag)) : 1 };
        });
        break;
      case '--':
        options.engineArgs = argv.slice(i + 1);
        i = argv.length;
        break;
      case '--help':
      case '-h':
        process.stdout.write('usage: node build/bench/compare/main.js [--sizes 1000,10000] [--rounds 2] [--operators herald,anchor:8,anchor:1] [--shape 200] [--shape-apps 10000] [--no-capacity] [--out DIR] [-- ENGINE ARGS…]\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag} (--help)`);
    }
  }
  return options;
}

interface PlannedRun {
  round: number;
  name: string;
  args: string[];
}

function plan(options: CompareOptions): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const operatorArgs = (o: Operator) => (o.kind === 'herald' ? ['--operator', 'herald'] : ['--operator', 'anchor', '--processors', String(o.processors)]);
  const operatorName = (o: Operator) => (o.kind === 'herald' ? 'herald' : `anchor${o.processors}`);
  for (let round = 1; round <= options.rounds; round++) {
    for (const apps of options.sizes) {
      for (const o of options.operators) {
        const phases = options.capacity ? 'cold,churn,mass,capacity' : 'cold,churn,mass';
        runs.push({ round, name: `r${round}-${apps}-${operatorName(o)}`, args: [...operatorArgs(o), '--apps', String(apps), '--phases', phases, ...options.engineArgs] });
      }
    }
    if (options.shapeChannels > 1) {
      for (const o of options.operators) {
        runs.push({ round, name: `r${round}-shape${options.shapeChannels}-${operatorName(o)}`, args: [...operatorArgs(o), '--apps', String(options.shapeApps), '--channels', String(options.shapeChannels), ...options.engineArgs] });
      }
    }
  }
  return runs;
}

/** Runs one bench/engine process under the heavy lock; its output goes to the log and, prefixed, to stdout. */
function runEngine(run: PlannedRun, logFile: string): Promise<EngineResult> {
  const command = underHeavyLock([process.execPath, join(repoRoot, 'build/bench/engine/main.js'), ...run.args]);
  const log = createWriteStream(logFile);
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let last = '';
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    log.write(chunk);
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('{')) last = line;
      else process.stdout.write(`[${run.name}] ${line}\n`);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    log.write(chunk);
    process.stderr.write(chunk);
  });
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      log.end();
      if (rest.startsWith('{')) last = rest;
      if (code !== 0 || !last) reject(new Error(`${run.name} failed (exit ${code}); its output: ${logFile}`));
      else resolvePromise(JSON.parse(last) as EngineResult);
    });
  });
}

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2));
  const print = printer('compare');
  const started = Date.now();
  mkdirSync(options.out, { recursive: true });
  if (options.operators.some((o) => o.kind === 'anchor')) print(`anchor: ${ensureAnchorBinary((line) => print(`anchor: ${line}`))}`);
  const runs = plan(options);
  print(`${runs.length} runs: ${runs.map((r) => r.name).join(', ')}; each under the heavy lock; logs in ${options.out}`);
  const records: RunRecord[] = [];
  const failures: string[] = [];
  for (const [index, run] of runs.entries()) {
    const runStarted = Date.now();
    print(`run ${index + 1}/${runs.length}: ${run.name} (bench/engine ${run.args.join(' ')})`);
    try {
      const result = await runEngine(run, join(options.out, `${run.name}.log`));
      records.push({ round: run.round, result });
      writeFileSync(join(options.out, `${run.name}.json`), `${JSON.stringify(result)}\n`);
    } catch (error) {
      failures.push(String(error instanceof Error ? error.message : error));
      print(`  ${String(error instanceof Error ? error.message : error)}`);
    }
    print(`run ${run.name} took ${formatMs(Date.now() - runStarted)}`);
  }
  const rateAt = options.engineArgs.indexOf('--rate');
  const rate = (rateAt >= 0 && Number(options.engineArgs[rateAt + 1])) || 50;
  const report = compareReport(records, rate);
  const took = Date.now() - started;
  const header = `herald vs Argo CD's notifications-engine (bench/anchor), ${new Date(started).toISOString()}, ${options.rounds} round(s), full comparison took ${formatMs(took)}`;
  writeFileSync(join(options.out, 'compare.md'), `${header}\n\n${report}\n`);
  process.stdout.write(`\n${header}\n\n${report}\n\n`);
  if (failures.length) print(`${failures.length} run(s) failed:\n  ${failures.join('\n  ')}`);
  printJson({ bench: 'compare', date: new Date(started).toISOString(), tookMs: took, rounds: options.rounds, runs: records, failures });
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[compare] ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
