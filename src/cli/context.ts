// The notification context of the debugging commands: the same ConfigMap the
// controller watches (read once from the cluster, or found among the -f files),
// overridden key by key by --argocd-url and --context, as the controller's flags do.
import { contextOverridesOf } from '../config.js';
import { DEFAULT_CONTEXT_CONFIGMAP, describeContext, parseContextData, resolveContext, type ContextOverrides, type ResolvedContext } from '../context/index.js';
import { errorMessage } from '../errors.js';
import type { FlagSpec, ParsedArgs } from '../flags.js';
import { openWorkspace, type Workspace } from './lookup.js';

export const contextFlags: FlagSpec[] = [
  { name: 'argocd-url', value: 'URL', help: "context.argocdUrl, overriding the context ConfigMap (the controller's --argocd-url); when neither sets it: https://argocd.example.com" },
  { name: 'context', value: 'KEY=VALUE', repeatable: true, help: "More template context, overriding that key of the context ConfigMap (the controller's --context)" },
  {
    name: 'context-configmap',
    value: 'NAME',
    default: DEFAULT_CONTEXT_CONFIGMAP,
    help: "The context ConfigMap in the control namespace (the controller's --context-configmap), read from the cluster or the -f files; empty: flags and defaults only",
  },
  { name: 'explain', help: 'Also print each context value and where it came from (flag, ConfigMap or default)' },
];

export interface CliContext extends ResolvedContext {
  /** Warnings for stderr: an invalid or unreadable ConfigMap. */
  notes: string[];
}

/** --argocd-url and --context, checked (a UsageError) before anything is read. */
export function cliContextOverrides(args: ParsedArgs): ContextOverrides {
  return contextOverridesOf(args.one('argocd-url'), args.flags.get('context') ?? []);
}

/** The context for the workspace: flags over the ConfigMap over defaults. */
export async function cliContext(args: ParsedArgs, overrides: ContextOverrides, workspace: Pick<Workspace, 'source' | 'controlNamespace'>): Promise<CliContext> {
  const name = args.one('context-configmap') ?? '';
  if (!name) return { ...resolveContext(overrides), notes: [] };
  const origin = `ConfigMap ${workspace.controlNamespace}/${name}`;
  let configMap;
  try {
    configMap = await workspace.source.configMap(workspace.controlNamespace, name);
  } catch (error) {
    return { ...resolveContext(overrides), notes: [`cannot read ${origin} (${errorMessage(error)}); the context comes from flags and defaults, and may differ from the controller's`] };
  }
  if (!configMap) return { ...resolveContext(overrides), notes: [] };
  const parsed = parseContextData(configMap.data, configMap.binaryData);
  if (!parsed.ok) {
    return {
      ...resolveContext(overrides),
      notes: [`${origin} is not a valid notification context: ${parsed.problems.join('; ')}; the controller keeps its last valid version, this command uses flags and defaults`],
    };
  }
  return { ...resolveContext(overrides, { values: parsed.values, origin }), notes: [] };
}

/** `# context.argocdUrl = "…" (ConfigMap argocd/herald-context)` lines for --explain. */
export function explainContextLines(context: ResolvedContext): string[] {
  return describeContext(context).map((line) => `# context.${line}`);
}

/** A debugging command's workspace and context; the context flags are checked before any cluster is asked. */
export async function openDebugWorkspace(args: ParsedArgs, appName: string): Promise<{ workspace: Workspace; context: CliContext }> {
  const overrides = cliContextOverrides(args);
  const workspace = await openWorkspace(args, appName);
  return { workspace, context: await cliContext(args, overrides, workspace) };
}
