// The sandbox image for the node's containerd, built from ./pause (Go, static) into an
// OCI archive in the cache; rebuilt only when its source changes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../../support/controlplane/binaries.js';
import { buildah } from '../image/buildah.js';

const here = dirname(fileURLToPath(import.meta.url));

function pauseSource(): string {
  for (const candidate of [join(here, 'pause'), resolve(here, '../../../../test/e2e/cluster/pause')]) {
    if (existsSync(join(candidate, 'main.go'))) return candidate;
  }
  throw new Error('cannot find test/e2e/cluster/pause');
}

export function ensurePauseImage(): { archive: string; name: string } {
  const source = pauseSource();
  const key = createHash('sha256').update(readFileSync(join(source, 'main.go'))).update(readFileSync(join(source, 'go.mod'))).digest('hex').slice(0, 12);
  const name = `localhost/herald-e2e/pause:${key}`;
  const dir = join(cacheRoot(), 'e2e');
  const archive = join(dir, `pause-${key}.oci.tar`);
  if (existsSync(archive)) return { archive, name };
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, `pause-${key}`);
  const build = spawnSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', binary, '.'], {
    cwd: source,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (build.status !== 0) throw new Error(`go build of the pause image failed (exit ${build.status ?? build.signal})`);
  const container = buildah(['from', 'scratch']).stdout.trim();
  try {
    buildah(['copy', '--chmod', '0755', container, binary, '/pause']);
    buildah(['config', '--entrypoint', '["/pause"]', '--user', '65535:65535', container]);
    buildah(['commit', '--quiet', '--rm', container, name]);
  } catch (error) {
    buildah(['rm', container], { allowFailure: true });
    throw error;
  }
  rmSync(binary, { force: true });
  buildah(['push', '--quiet', name, `oci-archive:${archive}.tmp:${name}`]);
  renameSync(`${archive}.tmp`, archive);
  return { archive, name };
}
