// The anchor (bench/anchor/, Go, on Argo CD's notifications-engine): its binary,
// built once per source version and cached outside the clone
// (~/.cache/herald/anchor-<hash of go.mod, go.sum and the .go files>), its ledger
// mode, and starting it as the operator under test.
//
//   node build/bench/lib/anchor.js     # prints the binary's path, building it first when needed (make anchor)
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../test/support/controlplane/install.js';
import { underHeavyLock } from './heavy-lock.js';
import { BenchOperator } from './operator.js';

export const ANCHOR_SOURCE = join(repoRoot, 'bench/anchor');
const CACHE_DIR = process.env.HERALD_CACHE_DIR ?? join(homedir(), '.cache/herald');

/** Hash of what the binary is built from: go.mod, go.sum and every .go file (name and content). */
export function anchorSourceHash(dir = ANCHOR_SOURCE): string {
  const files = readdirSync(dir).filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go')).sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(join(dir, file))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

export function anchorBinaryPath(): string {
  return join(CACHE_DIR, `anchor-${anchorSourceHash()}`);
}

/** The cached binary, built under the heavy lock when missing (a cold build takes minutes). */
export function ensureAnchorBinary(log: (line: string) => void = (line) => process.stderr.write(`[anchor] ${line}\n`)): string {
  const binary = anchorBinaryPath();
  if (existsSync(binary)) return binary;
  mkdirSync(CACHE_DIR, { recursive: true });
  const partial = `${binary}.partial-${process.pid}`;
  const command = underHeavyLock(['go', 'build', '-trimpath', '-o', partial, '.']);
  log(`building ${binary} (${command.join(' ')}; Go modules from the module proxy; a cold build takes several minutes on 2 cores)`);
  const started = Date.now();
  const result = spawnSync(command[0]!, command.slice(1), { cwd: ANCHOR_SOURCE, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`go build of bench/anchor failed (exit ${result.status ?? result.signal}); is Go ≥ 1.23 installed?`, { cause: result.error });
  }
  renameSync(partial, binary);
  log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

/**
 * The annotations (Argo CD's send ledger, notified.notifications.argoproj.io) the
 * engine would leave on each app after notifying its current state, computed by the
 * engine's own code (`anchor ledger`). One result per app, in order.
 */
export async function anchorLedgers(binary: string, configMap: object, apps: object[]): Promise<Array<Record<string, string>>> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-anchor-'));
  try {
    const file = join(dir, 'configmap.json');
    writeFileSync(file, JSON.stringify(configMap));
    const child = spawn(binary, ['ledger', '--configmap', file], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const done = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code ?? 1));
    });
    for (const app of apps) {
      if (!child.stdin.write(`${JSON.stringify(app)}\n`)) await new Promise((resolve) => child.stdin.once('drain', resolve));
    }
    child.stdin.end();
    const code = await done;
    if (code !== 0) throw new Error(`anchor ledger failed (exit ${code}): ${Buffer.concat(err).toString('utf8')}`);
    const lines = Buffer.concat(out).toString('utf8').split('\n').filter(Boolean);
    if (lines.length !== apps.length) throw new Error(`anchor ledger answered ${lines.length} lines for ${apps.length} apps`);
    return lines.map((line) => JSON.parse(line) as Record<string, string>);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface AnchorOptions {
  binary: string;
  kubeconfig: string;
  namespace: string;
  processors: number;
  /** client-go's QPS and burst; 0 keeps client-go's defaults (5/10, Argo CD's). */
  kubeQps: number;
  kubeBurst: number;
}

// The anchor logs at info as Argo CD does: six lines per app processed. Only these are
// parsed: the bench's own markers, the send line (where latency is split) and problems.
const KEPT = /"msg":"(?:anchor started|busy|idle|Sending notification)|"level":"(?:error|warning|fatal|panic)"/;

export function startAnchor(options: AnchorOptions): BenchOperator {
  return BenchOperator.spawn({
    command: options.binary,
    args: [
      'controller',
      '--kubeconfig', options.kubeconfig,
      '--namespace', options.namespace,
      '--processors-count', String(options.processors),
      '--kube-qps', String(options.kubeQps),
      '--kube-burst', String(options.kubeBurst),
      '--metrics-port', '0',
    ],
    startedMsg: 'anchor started',
    keepLine: (line) => KEPT.test(line),
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.stdout.write(`${ensureAnchorBinary()}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
