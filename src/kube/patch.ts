// The writes herald makes. Application writes are JSON merge patches on
// metadata.annotations only, so they never race Argo CD's own status writes. Both go
// through the thin merge patch (merge-patch.ts): the API server answers with metadata only.
import type { KubeConfig } from '@kubernetes/client-node';
import { APPLICATIONS, ARGO_GROUP, ARGO_VERSION, HERALD_GROUP, HERALD_VERSION } from '../api/groups.js';
import { mergePatch, type PatchedObject } from './merge-patch.js';

export type { PatchedObject } from './merge-patch.js';

const namespaced = (group: string, version: string, namespace: string, plural: string, name: string) =>
  `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`;

export class KubeWriter {
  constructor(private readonly kc: KubeConfig) {}

  /** Sets (string) or removes (null) annotations on an Application; returns the patched object's metadata. */
  patchAppAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<PatchedObject> {
    return mergePatch(this.kc, namespaced(ARGO_GROUP, ARGO_VERSION, namespace, APPLICATIONS, name), { metadata: { annotations } });
  }

  /** Merge-patches the status subresource of a herald resource. */
  patchHeraldStatus(plural: string, namespace: string, name: string, status: Record<string, unknown>): Promise<PatchedObject> {
    return mergePatch(this.kc, `${namespaced(HERALD_GROUP, HERALD_VERSION, namespace, plural, name)}/status`, { status });
  }
}
