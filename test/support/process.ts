// Child processes for tests that die with their parent, even when the parent is
// SIGKILLed: on Linux they are started through setpriv --pdeathsig.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

const hasSetpriv =
  process.platform === 'linux' && spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

export function spawnTied(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  if (hasSetpriv) return spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], options);
  return spawn(command, args, options);
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Calls `onLines` with the complete lines of each chunk a child prints on stdout and stderr. */
export function forEachLine(child: ChildProcess, onLines: (lines: string[]) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      rest += chunk;
      const lines = rest.split('\n');
      rest = lines.pop()!;
      onLines(lines);
    });
  }
}
