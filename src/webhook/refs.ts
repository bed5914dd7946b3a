// Git ref names as providers send them (refs/heads/x, refs/tags/x) and as
// Applications write targetRevision (HEAD, x, refs/heads/x, refs/tags/x, a SHA).

export interface ParsedRef {
  name: string;
  isTag: boolean;
}

/**
 * A pushed ref as a branch or tag name. A bare name counts as a branch. Other ref
 * namespaces (refs/pull/…, refs/merge-requests/…, refs/notes/…) return undefined:
 * no Application tracks them.
 */
export function parseRef(ref: string): ParsedRef | undefined {
  if (ref.startsWith('refs/heads/')) return nonEmpty(ref.slice('refs/heads/'.length), false);
  if (ref.startsWith('refs/tags/')) return nonEmpty(ref.slice('refs/tags/'.length), true);
  if (ref.startsWith('refs/')) return undefined;
  return nonEmpty(ref, false);
}

function nonEmpty(name: string, isTag: boolean): ParsedRef | undefined {
  return name === '' ? undefined : { name, isTag };
}

/** What an Application source's targetRevision asks for. */
export type TargetRevision =
  | { kind: 'default-branch' }
  | { kind: 'branch'; name: string }
  | { kind: 'tag'; name: string }
  /** A plain name: a branch, a tag or a commit SHA; it matches a pushed branch or tag of that exact name. */
  | { kind: 'name'; name: string };

export function parseTargetRevision(targetRevision: unknown): TargetRevision {
  const text = typeof targetRevision === 'string' ? targetRevision.trim() : '';
  if (text === '' || text === 'HEAD') return { kind: 'default-branch' };
  if (text.startsWith('refs/heads/')) return { kind: 'branch', name: text.slice('refs/heads/'.length) };
  if (text.startsWith('refs/tags/')) return { kind: 'tag', name: text.slice('refs/tags/'.length) };
  return { kind: 'name', name: text };
}
