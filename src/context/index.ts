// The notification context: the operator-wide values templates see as `context.*`
// (argocdUrl and whatever else the platform team adds). It lives in one place that
// both the controller and the CLI read, the ConfigMap `herald-context` in the control
// namespace; flags and environment override it key by key; argocdUrl has a default.
// Pure: parsing, validation and precedence. The controller's watch is in source.ts.

/** Argo CD's UI address when neither a flag, the environment nor the ConfigMap gives one. */
export const DEFAULT_ARGOCD_URL = 'https://argocd.example.com';

/** The ConfigMap both the controller and the CLI read by default (--context-configmap). */
export const DEFAULT_CONTEXT_CONFIGMAP = 'herald-context';

/** What flags and environment say; they win over the ConfigMap. */
export interface ContextOverrides {
  /** --argocd-url / HERALD_ARGOCD_URL, when given. */
  argocdUrl?: string;
  /** --context key=value / HERALD_CONTEXT. */
  values: Readonly<Record<string, string>>;
}

export interface ResolvedContext {
  /** What templates see as `context`. */
  values: Record<string, string>;
  /** Where each value came from: "--argocd-url", "--context", "ConfigMap argocd/herald-context", "default". */
  origins: Record<string, string>;
}

export type ParsedContextData = { ok: true; values: Record<string, string> } | { ok: false; problems: string[] };

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KNOWN_KEYS = ['argocdUrl'];

/** An absolute http(s) URL without a trailing slash, or why it is not one. */
export function normaliseArgocdUrl(text: string): { ok: true; url: string } | { ok: false; problem: string } {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, problem: `argocdUrl ${JSON.stringify(text)} is not an absolute URL (write it like https://argocd.example.com)` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, problem: `argocdUrl ${JSON.stringify(text)} must start with https:// or http://` };
  if (url.search || url.hash) return { ok: false, problem: `argocdUrl ${JSON.stringify(text)} must not carry a query or fragment (templates append paths to it)` };
  return { ok: true, url: trimmed.replace(/\/+$/, '') };
}

/**
 * The ConfigMap's `data`: each key is a context key (`argocdUrl`, or any name usable as
 * `context.<key>` in a template). A misspelled known key, a key templates cannot use,
 * binaryData or an invalid argocdUrl makes the whole ConfigMap invalid: no half-applied
 * context.
 */
export function parseContextData(data: Readonly<Record<string, string>> | undefined, binaryData?: Readonly<Record<string, string>>): ParsedContextData {
  const problems: string[] = [];
  const values: Record<string, string> = {};
  for (const key of Object.keys(binaryData ?? {})) problems.push(`binaryData key "${key}": the context is text; put it under data`);
  for (const [key, raw] of Object.entries(data ?? {})) {
    const value = String(raw);
    const known = KNOWN_KEYS.find((name) => name !== key && squash(name) === squash(key));
    if (known) {
      problems.push(`unknown key "${key}" (did you mean ${known}?)`);
      continue;
    }
    if (!KEY.test(key)) {
      problems.push(`unknown key "${key}": a context key is used as context.<key> in templates, so it has only letters, digits and _ and does not start with a digit`);
      continue;
    }
    if (key === 'argocdUrl') {
      const url = normaliseArgocdUrl(value);
      if (!url.ok) problems.push(url.problem);
      else values[key] = url.url;
      continue;
    }
    values[key] = value;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values };
}

function squash(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The context templates see. Precedence, key by key: flag or environment, then the
 * ConfigMap, then the default (argocdUrl only). argocdUrl comes first, then the other
 * keys in name order, so that the controller and the CLI build the same object.
 */
export function resolveContext(overrides: ContextOverrides, configMap?: { values: Readonly<Record<string, string>>; origin: string }): ResolvedContext {
  const values: Record<string, string> = { argocdUrl: DEFAULT_ARGOCD_URL };
  const origins: Record<string, string> = { argocdUrl: 'default' };
  for (const [key, value] of Object.entries(configMap?.values ?? {})) {
    values[key] = value;
    origins[key] = configMap!.origin;
  }
  if (overrides.argocdUrl !== undefined) {
    values.argocdUrl = overrides.argocdUrl.replace(/\/+$/, '');
    origins.argocdUrl = '--argocd-url';
  }
  for (const [key, value] of Object.entries(overrides.values)) {
    values[key] = value;
    origins[key] = '--context';
  }
  const keys = ['argocdUrl', ...Object.keys(values).filter((key) => key !== 'argocdUrl').sort()];
  return {
    values: Object.fromEntries(keys.map((key) => [key, values[key]!])),
    origins: Object.fromEntries(keys.map((key) => [key, origins[key]!])),
  };
}

/** One line per key, for --explain and the controller's log: `argocdUrl = "…" (ConfigMap argocd/herald-context)`. */
export function describeContext(context: ResolvedContext): string[] {
  return Object.keys(context.values).map((key) => `${key} = ${JSON.stringify(context.values[key])} (${context.origins[key]})`);
}
