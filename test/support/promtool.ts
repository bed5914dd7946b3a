// promtool (from Debian's `prometheus` package) checks our /metrics output and
// alert rules. `make promtool` runs this file: it uses promtool from PATH when there
// is one, else extracts the binary from the package into the herald cache. The
// package is downloaded, not installed, so no Prometheus service is set up or started.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from './controlplane/binaries.js';

export const cachedPromtool = () => join(cacheRoot(), 'promtool', 'promtool');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function works(path: string): boolean {
  return spawnSync(path, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Where promtool is: $HERALD_PROMTOOL, PATH, or the cache. Throws with the fix when missing. */
export function promtoolPath(): string {
  const candidates = [process.env.HERALD_PROMTOOL, onPath('promtool'), cachedPromtool()];
  for (const candidate of candidates) if (candidate && existsSync(candidate) && works(candidate)) return candidate;
  throw new Error('promtool not found: run `make promtool` (extracts it from Debian\'s prometheus package)');
}

function run(command: string, args: string[], cwd?: string): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}` };
}

/** Downloads Debian's prometheus package and keeps only promtool. */
export function installPromtool(log: (line: string) => void = () => undefined): string {
  const work = mkdtempSync(join(tmpdir(), 'herald-promtool-'));
  try {
    let download = run('apt-get', ['download', 'prometheus'], work);
    if (!download.ok) {
      log('apt-get download failed; running apt-get update first');
      const update = run('apt-get', ['update']);
      if (!update.ok) throw new Error(`apt-get update failed:\n${update.output}`);
      download = run('apt-get', ['download', 'prometheus'], work);
      if (!download.ok) throw new Error(`apt-get download prometheus failed:\n${download.output}`);
    }
    const deb = readdirSync(work).find((name) => name.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download prometheus produced no .deb file');
    const extract = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile "${deb}" | tar -x ./usr/bin/promtool`], { cwd: work, encoding: 'utf8' });
    if (extract.status !== 0) throw new Error(`cannot extract promtool from ${deb}: ${extract.stderr}`);
    const target = cachedPromtool();
    mkdirSync(join(target, '..'), { recursive: true });
    // Copy then rename, so a concurrent reader never sees a half-written binary.
    copyFileSync(join(work, 'usr/bin/promtool'), `${target}.tmp`);
    chmodSync(`${target}.tmp`, 0o755);
    renameSync(`${target}.tmp`, target);
    log(`promtool extracted from ${deb} to ${target}`);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `promtool check metrics` on a scrape: ok when it exits 0 with no lint findings. */
export function promtoolCheckMetrics(text: string): { ok: boolean; output: string } {
  const result = spawnSync(promtoolPath(), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return { ok: result.status === 0 && output === '', output };
}

/** The path of a working promtool, installing it when there is none. */
export function ensurePromtool(log: (line: string) => void = () => undefined): string {
  try {
    return promtoolPath();
  } catch {
    return installPromtool(log);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const path = ensurePromtool((line) => process.stderr.write(`[promtool] ${line}\n`));
    process.stdout.write(`promtool\t${path}\n`);
  } catch (error) {
    process.stderr.write(`[promtool] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
