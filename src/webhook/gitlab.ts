// GitLab: `X-Gitlab-Event: Push Hook | Tag Push Hook | System Hook`, authenticated by
// the plain secret token in `X-Gitlab-Token`. System hooks carry the same push body
// for every project of the instance.
import { parseRef } from './refs.js';
import { PayloadReader, decodeJsonBody, distinct } from './payload.js';
import { header, tokensEqual } from './signature.js';
import type { ProviderEvent, WebhookProvider, WebhookRequest } from './types.js';

const PUSH_KINDS = new Set(['push', 'tag_push']);

function parsePush(request: WebhookRequest, event: string): ProviderEvent {
  const reader = new PayloadReader(`GitLab ${event} payload`);
  const payload = reader.object(decodeJsonBody(request, reader.source), 'the body');
  const kind = reader.optionalString(payload.object_kind, 'object_kind') ?? reader.optionalString(payload.event_name, 'event_name');
  if (event === 'System Hook' && (kind === undefined || !PUSH_KINDS.has(kind))) {
    return { kind: 'ignored', event: `System Hook ${kind ?? '(no object_kind)'}`, reason: 'only push and tag push events refresh applications' };
  }
  const ref = reader.string(payload.ref, 'ref');
  const parsed = parseRef(ref);
  if (!parsed) return { kind: 'ignored', event, reason: `ref ${ref} is neither a branch nor a tag` };
  const project = reader.optionalObject(payload.project, 'project') ?? {};
  const repository = reader.optionalObject(payload.repository, 'repository') ?? {};
  const repoURLs = distinct([
    ...['web_url', 'git_http_url', 'git_ssh_url', 'http_url', 'ssh_url'].map((f) => reader.optionalString(project[f], `project.${f}`)),
    ...['homepage', 'git_http_url', 'git_ssh_url', 'url'].map((f) => reader.optionalString(repository[f], `repository.${f}`)),
  ]);
  if (repoURLs.length === 0) reader.fail('project.web_url', 'a non-empty string', project.web_url);
  const commits = reader.optionalArray(payload.commits, 'commits');
  let changedFiles = commits ? reader.changedFiles(commits, 'commits') : undefined;
  // GitLab lists at most 20 commits; total_commits_count says when it left some out.
  const total = reader.optionalNumber(payload.total_commits_count, 'total_commits_count');
  if (commits && total !== undefined && total > commits.length) changedFiles = undefined;
  return {
    kind: 'push',
    pushes: [
      {
        provider: 'gitlab',
        repoURLs,
        revision: parsed.name,
        isTag: parsed.isTag,
        defaultBranch: reader.optionalString(project.default_branch, 'project.default_branch'),
        changedFiles,
        before: reader.optionalString(payload.before, 'before'),
        after: reader.optionalString(payload.after, 'after'),
      },
    ],
  };
}

export const gitlab: WebhookProvider = {
  name: 'gitlab',
  displayName: 'GitLab',
  detects: (headers) => header(headers, 'x-gitlab-event') !== undefined,
  credential: { kind: 'token', header: 'x-gitlab-token', matches: (given, secret) => tokensEqual(given, secret) },
  parse(request) {
    const event = header(request.headers, 'x-gitlab-event') ?? '';
    if (event === 'Push Hook' || event === 'Tag Push Hook' || event === 'System Hook') return parsePush(request, event);
    return { kind: 'ignored', event, reason: 'only push and tag push events refresh applications' };
  },
};
