// The reaper of one cluster run (run.ts starts it in its own session). It waits for its
// stdin to close, which happens when the runner exits however it exits, then kills
// whatever is left in the run's cgroup and removes the cgroups and the run's folder.
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { cleanUp, type RunState } from './run.js';

const [statePath, logPath] = process.argv.slice(2);
const log = (line: string) => appendFileSync(logPath!, `${new Date().toISOString()} ${line}\n`);

// Ctrl-C in a terminal reaches the whole foreground group; the reaper must finish its job.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => log(`ignored ${signal}`));

const state = JSON.parse(readFileSync(statePath!, 'utf8')) as RunState;
let started = false;
const reap = () => {
  if (started) return;
  started = true;
  const began = Date.now();
  cleanUp(state).then(
    () => {
      void began;
      // Nothing of the run stays, not even this log; it is kept only when cleaning failed.
      rmSync(logPath!, { force: true });
      process.exit(0);
    },
    (error: unknown) => {
      log(`cleanup of ${state.dir} failed: ${error instanceof Error ? error.stack : String(error)}`);
      process.exit(1);
    },
  );
};
process.stdin.on('end', reap);
process.stdin.on('close', reap);
process.stdin.on('error', reap);
process.stdin.resume();
