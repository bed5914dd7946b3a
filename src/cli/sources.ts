// Where the debugging commands read Applications, herald resources and Secrets:
// the cluster of a kubeconfig (read only), or manifests in files (-f) with no
// cluster at all. Both answer the same questions, so the commands do not care.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { ARGO_GROUP, ARGO_VERSION, APPLICATIONS, HERALD_GROUP, HERALD_VERSION, KINDS } from '../api/groups.js';
import type { DingTalkChannel, NotificationTemplate, NotificationTrigger } from '../api/generated.js';
import type { Application } from '../controller/app-reconciler.js';
import type { NamespacedLookup } from '../controller/routing.js';
import { HeraldError } from '../errors.js';
import { apiMessageOf, statusCodeOf } from '../kube/errors.js';
import { loadManifests, type FileProblem } from '../manifests/index.js';
import type { ContextConfigMap } from '../context/source.js';

/** The cluster cannot be reached or refuses to answer. */
export class ClusterAccessError extends HeraldError {}

/** The files given with -f cannot be used. */
export class ManifestFilesError extends HeraldError {}

/** Decoded Secret values by key. */
export type SecretData = Record<string, string>;

export interface HeraldResources {
  triggers: NamespacedLookup<NotificationTrigger>;
  templates: NamespacedLookup<NotificationTemplate>;
  channels: NamespacedLookup<DingTalkChannel>;
}

export interface ResourceSource {
  /** "cluster https://…" or "files a.yaml, dir/", for messages. */
  readonly description: string;
  /** The namespace to use when -n is not given. */
  readonly defaultNamespace: string;
  /** The Application, or undefined when there is none. Not `strict` (files only): the one Application of that name in any namespace, when there is exactly one. */
  application(namespace: string, name: string, strict: boolean): Promise<Application | undefined>;
  /** herald's resources in the given namespaces. */
  heraldResources(namespaces: readonly string[]): Promise<HeraldResources>;
  /** A Secret's decoded values, or undefined when there is none. */
  secret(namespace: string, name: string): Promise<SecretData | undefined>;
  /** A ConfigMap (the notification context), or undefined when there is none. */
  configMap(namespace: string, name: string): Promise<ContextConfigMap | undefined>;
}

/** An in-memory NamespacedLookup. */
export class MemoryLookup<T extends { metadata?: { name?: string; namespace?: string } }> implements NamespacedLookup<T> {
  private readonly items = new Map<string, Map<string, T>>();
  add(namespace: string, item: T): void {
    let map = this.items.get(namespace);
    if (!map) this.items.set(namespace, (map = new Map()));
    map.set(item.metadata!.name!, item);
  }
  get(namespace: string, name: string): T | undefined {
    return this.items.get(namespace)?.get(name);
  }
  list(namespace: string): T[] {
    return [...(this.items.get(namespace)?.values() ?? [])];
  }
}

function decodeSecret(secret: { data?: Record<string, string>; stringData?: Record<string, string> }): SecretData {
  const out: SecretData = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) out[key] = Buffer.from(String(value), 'base64').toString('utf8').trim();
  // stringData wins, as when the API server merges it into data.
  for (const [key, value] of Object.entries(secret.stringData ?? {})) out[key] = String(value).trim();
  return out;
}

// ---------------------------------------------------------------------------
// Files

interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  [key: string]: unknown;
}

/**
 * Resources from manifest files. Objects without metadata.namespace are put into
 * `defaultNamespace`, as `kubectl apply -n` would.
 */
export async function fileSource(paths: readonly string[], defaultNamespace: string): Promise<ResourceSource & { problems: FileProblem[] }> {
  let loaded;
  try {
    loaded = await loadManifests(paths);
  } catch (error) {
    throw new ManifestFilesError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  const apps: Application[] = [];
  const triggers = new MemoryLookup<NotificationTrigger>();
  const templates = new MemoryLookup<NotificationTemplate>();
  const channels = new MemoryLookup<DingTalkChannel>();
  const secrets = new MemoryLookup<StoredObject>();
  const configMaps = new MemoryLookup<StoredObject>();
  for (const { object } of loaded.manifests) {
    const stored = object as StoredObject;
    const name = stored.metadata?.name;
    if (typeof name !== 'string' || name === '') continue;
    const namespace = typeof stored.metadata?.namespace === 'string' && stored.metadata.namespace !== '' ? stored.metadata.namespace : defaultNamespace;
    const withNamespace = { ...stored, metadata: { ...stored.metadata, name, namespace } };
    const group = String(stored.apiVersion ?? '').split('/')[0];
    if (stored.kind === 'Application' && group === ARGO_GROUP) apps.push(withNamespace as unknown as Application);
    else if (stored.kind === 'Secret' && stored.apiVersion === 'v1') secrets.add(namespace, withNamespace);
    else if (stored.kind === 'ConfigMap' && stored.apiVersion === 'v1') configMaps.add(namespace, withNamespace);
    else if (group === HERALD_GROUP && stored.kind === KINDS.NotificationTrigger.kind) triggers.add(namespace, withNamespace as unknown as NotificationTrigger);
    else if (group === HERALD_GROUP && stored.kind === KINDS.NotificationTemplate.kind) templates.add(namespace, withNamespace as unknown as NotificationTemplate);
    else if (group === HERALD_GROUP && stored.kind === KINDS.DingTalkChannel.kind) channels.add(namespace, withNamespace as unknown as DingTalkChannel);
  }
  return {
    description: `files ${paths.join(', ')}`,
    defaultNamespace,
    problems: loaded.problems,
    async application(namespace, name, strict) {
      const exact = apps.find((app) => app.metadata.namespace === namespace && app.metadata.name === name);
      if (exact || strict) return exact;
      const byName = apps.filter((app) => app.metadata.name === name);
      return byName.length === 1 ? byName[0] : undefined;
    },
    async heraldResources() {
      return { triggers, templates, channels };
    },
    async secret(namespace, name) {
      const secret = secrets.get(namespace, name);
      return secret ? decodeSecret(secret as { data?: Record<string, string>; stringData?: Record<string, string> }) : undefined;
    },
    async configMap(namespace, name) {
      return configMaps.get(namespace, name) as ContextConfigMap | undefined;
    },
  };
}

// ---------------------------------------------------------------------------
// Cluster

/**
 * The kubeconfig to use: --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else the
 * in-cluster service account. Never the client library's silent localhost fallback.
 */
export function loadCliKubeConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) {
      if (!existsSync(path)) throw new ClusterAccessError(`--kubeconfig ${path}: no such file`);
      kc.loadFromFile(path);
    } else if (env.KUBECONFIG) {
      kc.loadFromDefault();
    } else if (existsSync(join(env.HOME ?? homedir(), '.kube', 'config'))) {
      kc.loadFromFile(join(env.HOME ?? homedir(), '.kube', 'config'));
    } else if (env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
    } else {
      throw new ClusterAccessError('no cluster configured: pass --kubeconfig PATH or set KUBECONFIG, or read manifests offline with -f FILE|DIR');
    }
  } catch (error) {
    if (error instanceof ClusterAccessError) throw error;
    throw new ClusterAccessError(`cannot load the kubeconfig: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!kc.getCurrentCluster()) throw new ClusterAccessError('the kubeconfig has no current context with a cluster (kubectl config use-context NAME)');
  return kc;
}

export function clusterSource(kc: KubeConfig, defaultNamespace: string): ResourceSource {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const server = kc.getCurrentCluster()?.server ?? 'the API server';
  const explain = (what: string, error: unknown): ClusterAccessError => {
    const status = statusCodeOf(error);
    if (status === undefined) {
      const code = (error as { code?: unknown; cause?: { code?: unknown } })?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code;
      return new ClusterAccessError(`cannot reach the Kubernetes API server at ${server} to read ${what}: ${code ?? (error instanceof Error ? error.message : String(error))}`, { cause: error });
    }
    if (status === 401) return new ClusterAccessError(`the API server at ${server} did not accept the kubeconfig's credentials (reading ${what})`, { cause: error });
    if (status === 403) return new ClusterAccessError(`not allowed to read ${what}: ${apiMessageOf(error)}`, { cause: error });
    return new ClusterAccessError(`reading ${what} failed (HTTP ${status}): ${apiMessageOf(error)}`, { cause: error });
  };
  const list = async <T>(plural: string, namespace: string): Promise<T[]> => {
    try {
      const result = (await custom.listNamespacedCustomObject({ group: HERALD_GROUP, version: HERALD_VERSION, plural, namespace })) as { items?: T[] };
      return result.items ?? [];
    } catch (error) {
      if (statusCodeOf(error) === 404) {
        throw new ClusterAccessError(`the cluster does not know ${plural}.${HERALD_GROUP}: are herald's CRDs installed? (kubectl apply -f crds/)`, { cause: error });
      }
      throw explain(`${plural} in namespace ${namespace}`, error);
    }
  };
  return {
    description: `cluster ${server}`,
    defaultNamespace,
    async application(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({ group: ARGO_GROUP, version: ARGO_VERSION, plural: APPLICATIONS, namespace, name })) as Application;
      } catch (error) {
        if (statusCodeOf(error) === 404) return undefined;
        throw explain(`Application ${namespace}/${name}`, error);
      }
    },
    async heraldResources(namespaces) {
      const triggers = new MemoryLookup<NotificationTrigger>();
      const templates = new MemoryLookup<NotificationTemplate>();
      const channels = new MemoryLookup<DingTalkChannel>();
      for (const namespace of new Set(namespaces)) {
        const [t, m, c] = await Promise.all([
          list<NotificationTrigger>(KINDS.NotificationTrigger.plural, namespace),
          list<NotificationTemplate>(KINDS.NotificationTemplate.plural, namespace),
          list<DingTalkChannel>(KINDS.DingTalkChannel.plural, namespace),
        ]);
        for (const item of t) triggers.add(namespace, item);
        for (const item of m) templates.add(namespace, item);
        for (const item of c) channels.add(namespace, item);
      }
      return { triggers, templates, channels };
    },
    async secret(namespace, name) {
      try {
        const secret = await core.readNamespacedSecret({ namespace, name });
        return decodeSecret({ data: secret.data ?? {} });
      } catch (error) {
        if (statusCodeOf(error) === 404) return undefined;
        throw explain(`Secret ${namespace}/${name}`, error);
      }
    },
    async configMap(namespace, name) {
      try {
        return await core.readNamespacedConfigMap({ namespace, name });
      } catch (error) {
        if (statusCodeOf(error) === 404) return undefined;
        throw explain(`ConfigMap ${namespace}/${name}`, error);
      }
    },
  };
}
