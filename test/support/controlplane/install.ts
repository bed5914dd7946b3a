import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from './controlplane.js';

/** The repository root, from the compiled build/ tree or the source tree alike. */
export const repoRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root');
    dir = parent;
  }
  return dir;
})();

/** The operator as it ships: the bundle `make build` writes (what the image runs). */
export const heraldEntry = join(repoRoot, 'build/bundle/herald.js');

/** The Argo CD Application CRD for tests and herald's own CRDs, established. */
export function installBaseCrds(cp: ControlPlane): void {
  const files = [join(repoRoot, 'test/support/crds/argocd-application.yaml')];
  const heraldCrds = join(repoRoot, 'crds');
  if (existsSync(heraldCrds) && readdirSync(heraldCrds).some((f) => f.endsWith('.yaml'))) files.push(heraldCrds);
  for (const file of files) cp.kubectlOrThrow(['apply', '-f', file]);
  cp.kubectlOrThrow(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
}
