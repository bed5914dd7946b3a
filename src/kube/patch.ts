// The writes herald makes. Application writes are JSON merge patches on
// metadata.annotations only, so they never race Argo CD's own status writes.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { APPLICATIONS, ARGO_GROUP, ARGO_VERSION, HERALD_GROUP, HERALD_VERSION } from '../api/groups.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface PatchedObject {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
}

export class KubeWriter {
  private readonly custom: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** Sets (string) or removes (null) annotations on an Application; returns the patched object. */
  patchAppAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<PatchedObject> {
    return this.custom.patchNamespacedCustomObject(
      { group: ARGO_GROUP, version: ARGO_VERSION, namespace, plural: APPLICATIONS, name, body: { metadata: { annotations } } },
      mergePatch,
    ) as Promise<PatchedObject>;
  }

  /** Merge-patches the status subresource of a herald resource. */
  patchHeraldStatus(plural: string, namespace: string, name: string, status: Record<string, unknown>): Promise<unknown> {
    return this.custom.patchNamespacedCustomObjectStatus(
      { group: HERALD_GROUP, version: HERALD_VERSION, namespace, plural, name, body: { status } },
      mergePatch,
    );
  }
}
