// buildah with herald's own storage in the cache (outside the clone, kept between runs,
// so a rebuild reuses its layers), never the machine-wide store.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from '../../support/controlplane/binaries.js';

export function buildahStorage(): string[] {
  const root = join(cacheRoot(), 'image', 'containers');
  mkdirSync(root, { recursive: true });
  return ['--root', root, '--runroot', '/run/herald-buildah', '--storage-driver', 'overlay'];
}

export interface BuildahResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export function buildah(args: string[], options: { allowFailure?: boolean; inherit?: boolean } = {}): BuildahResult {
  const result = spawnSync('buildah', [...buildahStorage(), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BUILDAH_ISOLATION: 'chroot' },
  });
  const outcome = { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  if (!outcome.ok && !options.allowFailure) {
    throw new Error(`buildah ${args.join(' ')} failed (exit ${result.status ?? result.signal}): ${outcome.stderr}${result.error?.message ?? ''}`);
  }
  return outcome;
}
