// The shape of an Argo CD Application as trigger expressions see it (`app`).
//
// Declaring the fields is what lets the type checker reject `app.statuz` or
// `app.status.sync.status == 1` before any Application is evaluated. The flip side:
// a field that is not declared here cannot be read at all, so the declaration follows
// Argo CD's Application type closely, and every part that is open-ended (labels,
// annotations, Helm/Kustomize settings, list elements, the sync policy) is a map or
// `dyn`, where any field type-checks.
//
// Values: strings stay strings (timestamps too, so use `timestamp(...)`), whole
// numbers become CEL ints, JSON null counts as absent (see values.ts).
import type { ObjectSchema } from '@marcbachmann/cel-js';

const applicationSource = {
  repoURL: 'string',
  path: 'string',
  targetRevision: 'string',
  chart: 'string',
  ref: 'string',
  name: 'string',
  helm: 'dyn',
  kustomize: 'dyn',
  directory: 'dyn',
  plugin: 'dyn',
} satisfies ObjectSchema;

export const applicationSchema = {
  apiVersion: 'string',
  kind: 'string',
  metadata: {
    name: 'string',
    namespace: 'string',
    uid: 'string',
    resourceVersion: 'string',
    generateName: 'string',
    generation: 'int',
    labels: 'map<string, string>',
    annotations: 'map<string, string>',
    creationTimestamp: 'string',
    deletionTimestamp: 'string',
    deletionGracePeriodSeconds: 'int',
    finalizers: 'list<string>',
    ownerReferences: 'list<dyn>',
    managedFields: 'list<dyn>',
  },
  spec: {
    project: 'string',
    source: applicationSource,
    sources: 'list<dyn>',
    destination: { server: 'string', namespace: 'string', name: 'string' },
    syncPolicy: 'dyn',
    ignoreDifferences: 'list<dyn>',
    info: 'list<dyn>',
    revisionHistoryLimit: 'int',
    sourceHydrator: 'dyn',
  },
  // Present while a sync has been requested but not yet picked up.
  operation: 'dyn',
  status: {
    resources: 'list<dyn>',
    sync: { status: 'string', comparedTo: 'dyn', revision: 'string', revisions: 'list<string>' },
    health: { status: 'string', message: 'string', lastTransitionTime: 'string' },
    history: 'list<dyn>',
    conditions: 'list<dyn>',
    reconciledAt: 'string',
    observedAt: 'string',
    operationState: {
      operation: {
        sync: {
          revision: 'string',
          revisions: 'list<string>',
          prune: 'bool',
          dryRun: 'bool',
          syncStrategy: 'dyn',
          resources: 'list<dyn>',
          source: 'dyn',
          sources: 'list<dyn>',
          syncOptions: 'list<string>',
          manifests: 'list<string>',
          autoHealAttemptsCount: 'int',
        },
        initiatedBy: { username: 'string', automated: 'bool' },
        info: 'list<dyn>',
        retry: 'dyn',
      },
      phase: 'string',
      message: 'string',
      syncResult: {
        resources: 'list<dyn>',
        revision: 'string',
        revisions: 'list<string>',
        source: 'dyn',
        sources: 'list<dyn>',
        managedNamespaceMetadata: 'dyn',
      },
      startedAt: 'string',
      finishedAt: 'string',
      retryCount: 'int',
    },
    sourceType: 'string',
    sourceTypes: 'list<string>',
    summary: { externalURLs: 'list<string>', images: 'list<string>' },
    resourceHealthSource: 'string',
    controllerNamespace: 'string',
    sourceHydrator: 'dyn',
  },
} satisfies ObjectSchema;

/** The declared field names below a path of `app` (e.g. ['status', 'sync']), for "did you mean" hints. */
export function declaredFieldsAt(path: readonly string[]): string[] | undefined {
  let node: ObjectSchema | string = applicationSchema;
  for (const segment of path) {
    if (typeof node === 'string') return undefined;
    const next: ObjectSchema | string | undefined = node[segment];
    if (next === undefined) return undefined;
    node = next;
  }
  return typeof node === 'string' ? undefined : Object.keys(node);
}
