// What `template notify` and `trigger run` share: where to read from (flags), and
// finding the Application and herald's resources with the operator's scoping rules.
import type { DingTalkChannel, NotificationTrigger } from '../api/generated.js';
import type { Application } from '../controller/app-reconciler.js';
import { resolveScoped, type NamespacedLookup } from '../controller/routing.js';
import { HeraldError } from '../errors.js';
import { UsageError, type FlagSpec, type ParsedArgs } from '../flags.js';
import { clusterSource, fileSource, loadCliKubeConfig, ManifestFilesError, type HeraldResources, type ResourceSource } from './sources.js';

/** Something the user named does not exist where herald looks for it. */
export class NotFoundError extends HeraldError {}

/** A resource exists but cannot be used (does not compile, misses a Secret…). */
export class UnusableResourceError extends HeraldError {}

export const DEFAULT_CONTROL_NAMESPACE = 'argocd';

export const sourceFlags: FlagSpec[] = [
  { name: 'namespace', short: 'n', value: 'NAMESPACE', help: "The Application's namespace (default: the control namespace; with -f, the one Application of that name in the files)" },
  {
    name: 'filename',
    short: 'f',
    value: 'FILE|DIR',
    repeatable: true,
    help: 'Read Applications, herald resources and Secrets from manifest files (YAML or JSON; directories recursively) instead of a cluster. Objects without a namespace get -n (or the control namespace)',
  },
  { name: 'kubeconfig', value: 'PATH', help: 'kubeconfig of the cluster to read (read only); default $KUBECONFIG, then ~/.kube/config, then in-cluster' },
  {
    name: 'control-namespace',
    value: 'NAMESPACE',
    default: DEFAULT_CONTROL_NAMESPACE,
    help: "herald's control namespace (the controller's --control-namespace): its resources apply to every Application",
  },
];

export interface Workspace {
  source: ResourceSource;
  controlNamespace: string;
  app: Application;
  appNamespace: string;
  resources: HeraldResources;
}

/** Opens the source the flags name and finds the Application and the resources in its scope. */
export async function openWorkspace(args: ParsedArgs, appName: string): Promise<Workspace> {
  const controlNamespace = args.one('control-namespace') ?? DEFAULT_CONTROL_NAMESPACE;
  const namespaceFlag = args.one('namespace');
  const files = args.flags.get('filename') ?? [];
  let source: ResourceSource;
  if (files.length > 0 && args.one('kubeconfig') !== undefined) {
    throw new UsageError('-f reads manifests instead of a cluster: give either -f or --kubeconfig, not both');
  }
  if (files.length > 0) {
    const fromFiles = await fileSource(files, namespaceFlag ?? controlNamespace);
    if (fromFiles.problems.length > 0) {
      const lines = fromFiles.problems.map((p) => `  ${p.file}${p.line === undefined ? '' : `:${p.line}`}: ${p.message}`);
      throw new ManifestFilesError(`cannot use the manifest files:\n${lines.join('\n')}`);
    }
    source = fromFiles;
  } else {
    source = clusterSource(loadCliKubeConfig(args.one('kubeconfig')), controlNamespace);
  }
  const namespace = namespaceFlag ?? controlNamespace;
  const app = await source.application(namespace, appName, namespaceFlag !== undefined || files.length === 0);
  if (!app) throw new NotFoundError(`Application ${namespace}/${appName} not found (${source.description})`);
  const appNamespace = app.metadata.namespace ?? namespace;
  const resources = await source.heraldResources([appNamespace, controlNamespace]);
  return { source, controlNamespace, app, appNamespace, resources };
}

/** The resource the operator would use for `name` in the app's scope: own namespace first, then the control namespace. */
export function resolveInScope<T>(
  lookup: NamespacedLookup<T>,
  workspace: Pick<Workspace, 'appNamespace' | 'controlNamespace' | 'source'>,
  kind: string,
  name: string,
): { namespace: string; name: string; object: T } {
  const ref = resolveScoped(lookup, workspace.appNamespace, workspace.controlNamespace, name);
  if (!ref) {
    const where = workspace.appNamespace === workspace.controlNamespace ? `namespace ${workspace.appNamespace}` : `namespace ${workspace.appNamespace} or ${workspace.controlNamespace}`;
    throw new NotFoundError(`no ${kind} "${name}" in ${where} (${workspace.source.description})`);
  }
  return { ...ref, object: lookup.get(ref.namespace, ref.name)! };
}

export type ResolvedTrigger = ReturnType<typeof resolveInScope<NotificationTrigger>>;
export type ResolvedChannel = ReturnType<typeof resolveInScope<DingTalkChannel>>;
