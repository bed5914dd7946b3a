// GitHub: `X-GitHub-Event: push | ping`, body signed with the webhook secret in
// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`. Gogs and Gitea send the same
// push shape, so the parsing here is shared with gogs.ts.
import { parseRef } from './refs.js';
import { PayloadReader, decodeJsonBody, distinct } from './payload.js';
import { header } from './signature.js';
import type { ProviderEvent, ProviderName, WebhookProvider, WebhookRequest } from './types.js';

// GitHub lists at most this many commits in a push payload; a full list may be cut short.
const GITHUB_MAX_COMMITS = 2048;

/**
 * A push in the GitHub shape: `ref`, `before`, `after`, `repository` (html_url,
 * clone_url, ssh_url, git_url, default_branch) and `commits[]` with added/modified/removed.
 * `totalCommits` (when the payload has such a count) or `maxCommits` tell when the
 * commit list, and so the changed files, may be incomplete.
 */
export function parseGitHubStylePush(
  provider: ProviderName,
  reader: PayloadReader,
  request: WebhookRequest,
  options: { maxCommits?: number; totalCommitsField?: string } = {},
): ProviderEvent {
  const payload = reader.object(decodeJsonBody(request, reader.source), 'the body');
  const ref = reader.string(payload.ref, 'ref');
  const parsed = parseRef(ref);
  if (!parsed) return { kind: 'ignored', event: 'push', reason: `ref ${ref} is neither a branch nor a tag` };
  const repository = reader.object(payload.repository, 'repository');
  const repoURLs = distinct(
    ['html_url', 'clone_url', 'ssh_url', 'git_url', 'url'].map((field) => reader.optionalString(repository[field], `repository.${field}`)),
  );
  if (repoURLs.length === 0) reader.fail('repository.html_url', 'a non-empty string', repository.html_url);
  const defaultBranch =
    reader.optionalString(repository.default_branch, 'repository.default_branch') ??
    reader.optionalString(repository.master_branch, 'repository.master_branch');
  const commits = reader.optionalArray(payload.commits, 'commits');
  let changedFiles = commits ? reader.changedFiles(commits, 'commits') : undefined;
  if (commits && options.maxCommits !== undefined && commits.length >= options.maxCommits) changedFiles = undefined;
  if (commits && options.totalCommitsField) {
    const total = reader.optionalNumber(payload[options.totalCommitsField], options.totalCommitsField);
    if (total !== undefined && total > commits.length) changedFiles = undefined;
  }
  return {
    kind: 'push',
    pushes: [
      {
        provider,
        repoURLs,
        revision: parsed.name,
        isTag: parsed.isTag,
        defaultBranch,
        changedFiles,
        before: reader.optionalString(payload.before, 'before'),
        after: reader.optionalString(payload.after, 'after'),
      },
    ],
  };
}

export const github: WebhookProvider = {
  name: 'github',
  displayName: 'GitHub',
  detects: (headers) => header(headers, 'x-github-event') !== undefined,
  credential: { kind: 'hmac-sha256', header: 'x-hub-signature-256', prefix: 'sha256=' },
  parse(request) {
    const event = header(request.headers, 'x-github-event') ?? '';
    if (event === 'ping') return { kind: 'ping' };
    if (event !== 'push') return { kind: 'ignored', event, reason: 'only push events refresh applications' };
    return parseGitHubStylePush('github', new PayloadReader('GitHub push payload'), request, { maxCommits: GITHUB_MAX_COMMITS });
  },
};
