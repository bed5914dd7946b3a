// The Argo CD Application CRD the e2e installs.
import { join } from 'node:path';
import { repoRoot } from '../../support/controlplane/install.js';

export function argocdApplicationCrd(): string {
  return join(repoRoot, 'test/support/crds/argocd-application.yaml');
}
