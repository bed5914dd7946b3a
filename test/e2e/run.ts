// `make e2e`: the host tests (the image, the cluster's teardown), then a single-node
// cluster with the image imported, and the in-cluster tests inside it. Exits non-zero
// when any part fails.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../support/controlplane/install.js';
import { DEFAULT_IMAGE, defaultArchive } from './image/build.js';

const image = process.env.IMAGE ?? DEFAULT_IMAGE;
const archive = process.env.IMAGE_ARCHIVE ?? defaultArchive();
const ava = [join(repoRoot, 'node_modules/ava/entrypoints/cli.mjs'), '--config', 'ava.e2e.config.js'];

function step(name: string, command: string[]): number {
  const started = Date.now();
  process.stdout.write(`[e2e] ${name}\n`);
  const result = spawnSync(command[0]!, command.slice(1), { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, IMAGE: image, IMAGE_ARCHIVE: archive } });
  const code = result.status ?? 1;
  process.stdout.write(`[e2e] ${name}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return code;
}

const only = process.argv.slice(2);
const host = only.length === 0 || only.includes('host');
const inCluster = only.length === 0 || only.includes('in-cluster');
let failed = 0;
if (host) failed += step('host tests: the image, the cluster leaves nothing behind', [process.execPath, ...ava, 'build/test/e2e/host/**/*.test.js']) === 0 ? 0 : 1;
if (inCluster) {
  failed +=
    step('in-cluster tests: herald installed into a single-node cluster', [
      process.execPath,
      join(repoRoot, 'build/test/e2e/cluster/cli.js'),
      'run',
      '--image',
      `${archive}=${image}`,
      '--',
      process.execPath,
      ...ava,
      'build/test/e2e/in-cluster/**/*.test.js',
    ]) === 0
      ? 0
      : 1;
}
process.exit(failed === 0 ? 0 : 1);
