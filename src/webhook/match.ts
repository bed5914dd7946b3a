// Which Applications a push concerns. Pure: the same pushes and apps always give the
// same answer. An app matches when one of its Git sources names the pushed repository,
// its targetRevision names the pushed branch or tag, and (with the
// manifest-generate-paths annotation) a changed file lies under one of its paths.
import { posix } from 'node:path';
import { ANNOTATIONS } from '../api/groups.js';
import { parseTargetRevision } from './refs.js';
import { normalizeRepoURL } from './repo-url.js';
import type { ApplicationLike, ApplicationRef, ApplicationSourceLike, PushEvent } from './types.js';

// Thousands of apps share a few hundred repo URLs: normalise each distinct text once.
const keyCache = new Map<string, string | undefined>();
const KEY_CACHE_LIMIT = 50_000;

function repoKey(url: string): string | undefined {
  if (keyCache.has(url)) return keyCache.get(url);
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  const key = normalizeRepoURL(url);
  keyCache.set(url, key);
  return key;
}

/** `spec.source` and every `spec.sources[]` entry that is a Git source (Helm repository charts are not). */
export function gitSources(app: ApplicationLike): ApplicationSourceLike[] {
  const spec = app.spec;
  if (!spec || typeof spec !== 'object') return [];
  const all: unknown[] = [spec.source, ...(Array.isArray(spec.sources) ? spec.sources : [])];
  return all.filter(
    (source): source is ApplicationSourceLike =>
      typeof source === 'object' && source !== null && typeof (source as ApplicationSourceLike).repoURL === 'string' &&
      !(typeof (source as ApplicationSourceLike).chart === 'string' && (source as ApplicationSourceLike).chart !== ''),
  );
}

/**
 * Whether a source's targetRevision follows the pushed ref. `HEAD` or empty follows
 * the default branch (any branch when the payload does not name it, as Argo CD
 * assumes); `refs/heads/x` only branch x; `refs/tags/x` only tag x; a plain name a
 * branch or tag of that exact name (so a commit SHA never matches).
 */
export function revisionMatches(targetRevision: unknown, push: Pick<PushEvent, 'revision' | 'isTag' | 'defaultBranch'>): boolean {
  const target = parseTargetRevision(targetRevision);
  switch (target.kind) {
    case 'default-branch':
      return !push.isTag && (push.defaultBranch === undefined || push.revision === push.defaultBranch);
    case 'branch':
      return !push.isTag && push.revision === target.name;
    case 'tag':
      return push.isTag && push.revision === target.name;
    case 'name':
      return push.revision === target.name;
  }
}

/** A repository-relative path without leading `./` or `/` and without a trailing slash; '' is the root. */
function cleanPath(path: string): string {
  const normalized = posix.normalize(path.replace(/\\/g, '/')).replace(/^\/+/, '').replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/**
 * The repository paths named by a manifest-generate-paths annotation: entries are
 * separated by `;`; an absolute one is relative to the repository root, a relative
 * one (including `.`) to the source's own path.
 */
export function refreshPaths(annotation: string, sourcePath: unknown): string[] {
  const base = typeof sourcePath === 'string' ? sourcePath : '';
  const paths: string[] = [];
  for (const raw of annotation.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    paths.push(item.startsWith('/') ? cleanPath(item) : cleanPath(posix.join(base === '' ? '.' : base, item)));
  }
  return paths;
}

const globCache = new Map<string, RegExp>();

/** `*` and `?` within one path segment, as Argo CD's filepath.Match allows. */
function globMatches(pattern: string, file: string): boolean {
  let regexp = globCache.get(pattern);
  if (!regexp) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
    regexp = new RegExp(`^${body}$`);
    if (globCache.size > 10_000) globCache.clear();
    globCache.set(pattern, regexp);
  }
  return regexp.test(file);
}

/**
 * Whether one of the changed files lies under (or is, or glob-matches) one of the
 * paths. No paths, or no list of changed files, means "cannot rule it out": true.
 */
export function filesTouchPaths(paths: readonly string[], changedFiles: readonly string[] | undefined): boolean {
  if (paths.length === 0 || changedFiles === undefined || changedFiles.length === 0) return true;
  for (const rawFile of changedFiles) {
    const file = cleanPath(rawFile);
    for (const path of paths) {
      if (path === '' || file === path || file.startsWith(`${path}/`)) return true;
      if (/[*?]/.test(path) && globMatches(path, file)) return true;
    }
  }
  return false;
}

/** Whether this push concerns this app; `repoKeys` are the normalised keys of push.repoURLs. */
export function applicationMatchesPush(app: ApplicationLike, push: PushEvent, repoKeys: ReadonlySet<string> = pushRepoKeys(push)): boolean {
  const annotation = app.metadata?.annotations?.[ANNOTATIONS.manifestGeneratePaths];
  for (const source of gitSources(app)) {
    const key = repoKey(source.repoURL as string);
    if (key === undefined || !repoKeys.has(key)) continue;
    if (!revisionMatches(source.targetRevision, push)) continue;
    if (typeof annotation === 'string' && !filesTouchPaths(refreshPaths(annotation, source.path), push.changedFiles)) continue;
    return true;
  }
  return false;
}

export function pushRepoKeys(push: PushEvent): Set<string> {
  const keys = new Set<string>();
  for (const url of push.repoURLs) {
    const key = normalizeRepoURL(url);
    if (key !== undefined) keys.add(key);
  }
  return keys;
}

/** Every app that one of the pushes concerns, each once, in the order the apps were given. */
export function findApplicationsToRefresh(pushes: readonly PushEvent[], apps: Iterable<ApplicationLike>): ApplicationRef[] {
  const prepared = pushes.map((push) => ({ push, keys: pushRepoKeys(push) })).filter(({ keys }) => keys.size > 0);
  const matched: ApplicationRef[] = [];
  if (prepared.length === 0) return matched;
  for (const app of apps) {
    const name = app.metadata?.name;
    const namespace = app.metadata?.namespace;
    if (!name || !namespace) continue;
    if (prepared.some(({ push, keys }) => applicationMatchesPush(app, push, keys))) matched.push({ namespace, name });
  }
  return matched;
}
