// How herald asks Argo CD to refresh an Application: the same merge patch the
// `argocd app get --refresh` command writes, on metadata.annotations only, so it can
// never conflict with Argo CD's own writes to spec or status.
import type { KubeConfig } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../api/groups.js';
import { KubeWriter } from '../kube/patch.js';
import { apiMessageOf, statusCodeOf } from '../kube/errors.js';
import { RefreshError } from './errors.js';
import type { ApplicationRef } from './types.js';

export type RefreshType = 'normal' | 'hard';

/** The merge patch body that requests a refresh. */
export function refreshPatch(type: RefreshType = 'normal'): { metadata: { annotations: Record<string, string> } } {
  return { metadata: { annotations: { [ANNOTATIONS.argoRefresh]: type } } };
}

/** A `refresh` function for startWebhookReceiver that patches Applications through the API server. */
export function createApplicationRefresher(kc: KubeConfig, type: RefreshType = 'normal'): (app: ApplicationRef) => Promise<void> {
  const writer = new KubeWriter(kc);
  return async (app) => {
    try {
      await writer.patchAppAnnotations(app.namespace, app.name, refreshPatch(type).metadata.annotations);
    } catch (error) {
      const code = statusCodeOf(error);
      throw new RefreshError(app, `refresh of Application ${app.namespace}/${app.name} failed${code === undefined ? '' : ` (HTTP ${code})`}: ${apiMessageOf(error).slice(0, 300)}`, { cause: error });
    }
  };
}
