// Push deliveries shaped after each Git provider's documented webhook format
// (headers, field names, nesting), signed the way that provider signs them. Used by
// the webhook unit, integration and fuzz tests and by bench/webhook.
import { createHmac, randomUUID } from 'node:crypto';

export interface Delivery {
  headers: Record<string, string>;
  body: string;
}

export interface CommitFiles {
  added?: string[];
  modified?: string[];
  removed?: string[];
}

export interface PushOptions {
  /** Repository path on the host, e.g. "acme/guestbook" (GitLab may nest groups). */
  repo: string;
  host?: string;
  /** Full ref: refs/heads/main or refs/tags/v1.0.0. */
  ref: string;
  defaultBranch?: string;
  commits?: CommitFiles[];
  before?: string;
  after?: string;
}

const ZERO = '0000000000000000000000000000000000000000';
const sha = (seed: string) => createHmac('sha1', 'herald-test').update(seed).digest('hex');
const hex256 = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');
const hex1 = (secret: string, body: string) => createHmac('sha1', secret).update(body).digest('hex');
const shortRef = (ref: string) => ref.replace(/^refs\/(heads|tags)\//, '');

function commitList(options: PushOptions, url: (id: string) => string) {
  return (options.commits ?? [{ modified: ['README.md'] }]).map((files, i) => {
    const id = sha(`${options.repo}:${options.ref}:${i}`);
    return {
      id,
      tree_id: sha(`tree:${id}`),
      distinct: true,
      message: `Change ${i}: "quotes", newlines\nand unicode ✓`,
      timestamp: '2024-05-01T10:00:00+08:00',
      url: url(id),
      author: { name: 'Li Lei', email: 'lilei@example.com', username: 'lilei' },
      committer: { name: 'Li Lei', email: 'lilei@example.com', username: 'lilei' },
      added: files.added ?? [],
      removed: files.removed ?? [],
      modified: files.modified ?? [],
    };
  });
}

/** GitHub `push` (https://docs.github.com/webhooks/webhook-events-and-payloads#push). */
export function githubPush(options: PushOptions, secret: string): Delivery {
  const host = options.host ?? 'github.com';
  const [owner, name] = options.repo.split('/') as [string, string];
  const web = `https://${host}/${options.repo}`;
  const commits = commitList(options, (id) => `${web}/commit/${id}`);
  const after = options.after ?? commits.at(-1)?.id ?? sha('after');
  const payload = {
    ref: options.ref,
    before: options.before ?? sha('before'),
    after,
    base_ref: null,
    created: false,
    deleted: after === ZERO,
    forced: false,
    compare: `${web}/compare/${sha('before').slice(0, 12)}...${after.slice(0, 12)}`,
    commits,
    head_commit: commits.at(-1) ?? null,
    repository: {
      id: 123456789,
      node_id: 'R_kgDOabc',
      name,
      full_name: options.repo,
      private: false,
      owner: { login: owner, id: 42, type: 'Organization', html_url: `https://${host}/${owner}` },
      html_url: web,
      description: 'Argo CD example apps',
      fork: false,
      url: web,
      git_url: `git://${host}/${options.repo}.git`,
      ssh_url: `git@${host}:${options.repo}.git`,
      clone_url: `${web}.git`,
      svn_url: web,
      default_branch: options.defaultBranch ?? 'main',
      master_branch: options.defaultBranch ?? 'main',
      pushed_at: 1714528800,
    },
    pusher: { name: 'lilei', email: 'lilei@example.com' },
    sender: { login: 'lilei', id: 7, type: 'User' },
  };
  const body = JSON.stringify(payload);
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/7a3f1c2',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-github-hook-id': '471122334',
      'x-hub-signature': `sha1=${hex1(secret, body)}`,
      'x-hub-signature-256': `sha256=${hex256(secret, body)}`,
    },
    body,
  };
}

export function githubPing(secret: string): Delivery {
  const body = JSON.stringify({
    zen: 'Keep it logically awesome.',
    hook_id: 471122334,
    hook: { type: 'Repository', id: 471122334, active: true, events: ['push'], config: { content_type: 'json', insecure_ssl: '0', url: 'https://herald.example.com/api/webhook' } },
    repository: { full_name: 'acme/guestbook', html_url: 'https://github.com/acme/guestbook' },
  });
  return {
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'ping',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${hex256(secret, body)}`,
    },
    body,
  };
}

/** GitLab `Push Hook` / `Tag Push Hook` (https://docs.gitlab.com/user/project/integrations/webhook_events/). */
export function gitlabPush(options: PushOptions, token: string, extra: { systemHook?: boolean; totalCommits?: number } = {}): Delivery {
  const host = options.host ?? 'gitlab.example.com';
  const isTag = options.ref.startsWith('refs/tags/');
  const web = `https://${host}/${options.repo}`;
  const commits = commitList(options, (id) => `${web}/-/commit/${id}`);
  const name = options.repo.split('/').at(-1)!;
  const payload = {
    object_kind: isTag ? 'tag_push' : 'push',
    event_name: isTag ? 'tag_push' : 'push',
    before: options.before ?? sha('before'),
    after: options.after ?? commits.at(-1)?.id ?? sha('after'),
    ref: options.ref,
    ref_protected: true,
    checkout_sha: commits.at(-1)?.id ?? null,
    user_id: 4,
    user_name: 'Han Meimei',
    user_username: 'hanmeimei',
    user_email: '',
    project_id: 15,
    project: {
      id: 15,
      name,
      description: '',
      web_url: web,
      avatar_url: null,
      git_ssh_url: `git@${host}:${options.repo}.git`,
      git_http_url: `${web}.git`,
      namespace: options.repo.split('/')[0],
      visibility_level: 0,
      path_with_namespace: options.repo,
      default_branch: options.defaultBranch ?? 'main',
      homepage: web,
      url: `git@${host}:${options.repo}.git`,
      ssh_url: `git@${host}:${options.repo}.git`,
      http_url: `${web}.git`,
    },
    commits,
    total_commits_count: extra.totalCommits ?? commits.length,
    repository: {
      name,
      url: `git@${host}:${options.repo}.git`,
      description: '',
      homepage: web,
      git_http_url: `${web}.git`,
      git_ssh_url: `git@${host}:${options.repo}.git`,
      visibility_level: 0,
    },
  };
  const body = JSON.stringify(payload);
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitLab/17.0.0',
      'x-gitlab-event': extra.systemHook ? 'System Hook' : isTag ? 'Tag Push Hook' : 'Push Hook',
      'x-gitlab-event-uuid': randomUUID(),
      'x-gitlab-instance': `https://${host}`,
      'x-gitlab-token': token,
    },
    body,
  };
}

/** Bitbucket Cloud `repo:push` (https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/#Push). */
export function bitbucketCloudPush(options: PushOptions & { refs?: string[] }, hookUUID: string): Delivery {
  const host = options.host ?? 'bitbucket.org';
  const web = `https://${host}/${options.repo}`;
  const api = `https://api.${host}/2.0/repositories/${options.repo}`;
  const refState = (ref: string, hash: string) => ({
    type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    name: shortRef(ref),
    target: { type: 'commit', hash, message: 'Update values.yaml\n', date: '2024-05-01T02:00:00+00:00', author: { raw: 'Li Lei <lilei@example.com>' }, links: { html: { href: `${web}/commits/${hash}` } } },
    links: { html: { href: `${web}/branch/${shortRef(ref)}` } },
  });
  const changes = (options.refs ?? [options.ref]).map((ref) => ({
    new: refState(ref, options.after ?? sha(`${ref}:new`)),
    old: refState(ref, options.before ?? sha(`${ref}:old`)),
    links: { html: { href: `${web}/branches/compare/a..b` }, diff: { href: `${api}/diff/a..b` } },
    created: false,
    forced: false,
    closed: false,
    commits: [{ hash: sha(`${ref}:new`), type: 'commit', message: 'Update values.yaml\n' }],
    truncated: false,
  }));
  const payload = {
    actor: { display_name: 'Li Lei', uuid: '{a54f16da-24e9-4d7f-a3a7-b1ba2cd98aa3}', type: 'user' },
    repository: {
      type: 'repository',
      full_name: options.repo,
      name: options.repo.split('/')[1],
      uuid: '{673a6070-3421-46c9-9d48-90745f7bfe8e}',
      links: { self: { href: api }, html: { href: web }, avatar: { href: `${web}/avatar/32/` } },
      workspace: { slug: options.repo.split('/')[0], type: 'workspace' },
      scm: 'git',
      is_private: true,
    },
    push: { changes },
  };
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Bitbucket-Webhooks/2.0',
      'x-event-key': 'repo:push',
      'x-hook-uuid': hookUUID,
      'x-request-uuid': randomUUID(),
      'x-attempt-number': '1',
    },
    body: JSON.stringify(payload),
  };
}

/** Bitbucket Server / Data Center `repo:refs_changed` (https://confluence.atlassian.com/bitbucketserver/event-payload-938025882.html). */
export function bitbucketServerPush(options: PushOptions & { refs?: string[] }, secret: string): Delivery {
  const host = options.host ?? 'bitbucket.example.com';
  const [project, slug] = options.repo.split('/') as [string, string];
  const payload = {
    eventKey: 'repo:refs_changed',
    date: '2024-05-01T10:00:00+0800',
    actor: { name: 'lilei', emailAddress: 'lilei@example.com', id: 3231, displayName: 'Li Lei', active: true, slug: 'lilei', type: 'NORMAL' },
    repository: {
      slug,
      id: 84,
      name: slug,
      hierarchyId: 'af05451fc7e2ef5e4b5d',
      scmId: 'git',
      state: 'AVAILABLE',
      statusMessage: 'Available',
      forkable: true,
      project: { key: project.toUpperCase(), id: 21, name: project, public: false, type: 'NORMAL' },
      public: false,
      links: {
        clone: [
          { href: `ssh://git@${host}:7999/${project}/${slug}.git`, name: 'ssh' },
          { href: `https://${host}/scm/${project}/${slug}.git`, name: 'http' },
        ],
        self: [{ href: `https://${host}/projects/${project.toUpperCase()}/repos/${slug}/browse` }],
      },
    },
    changes: (options.refs ?? [options.ref]).map((ref) => ({
      ref: { id: ref, displayId: shortRef(ref), type: ref.startsWith('refs/tags/') ? 'TAG' : 'BRANCH' },
      refId: ref,
      fromHash: options.before ?? sha(`${ref}:old`),
      toHash: options.after ?? sha(`${ref}:new`),
      type: 'UPDATE',
    })),
  };
  const body = JSON.stringify(payload);
  return {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Atlassian HttpClient 4.2.0',
      'x-event-key': 'repo:refs_changed',
      'x-request-id': randomUUID(),
      'x-hub-signature': `sha256=${hex256(secret, body)}`,
    },
    body,
  };
}

export function bitbucketServerPing(secret: string): Delivery {
  const body = JSON.stringify({ test: true });
  return {
    headers: { 'content-type': 'application/json', 'x-event-key': 'diagnostics:ping', 'x-request-id': randomUUID(), 'x-hub-signature': `sha256=${hex256(secret, body)}` },
    body,
  };
}

/** Gogs `push` (https://gogs.io/docs/features/webhook). */
export function gogsPush(options: PushOptions, secret: string): Delivery {
  const host = options.host ?? 'gogs.example.com';
  const web = `https://${host}/${options.repo}`;
  const [owner, name] = options.repo.split('/') as [string, string];
  const commits = commitList(options, (id) => `${web}/commit/${id}`);
  const payload = {
    ref: options.ref,
    before: options.before ?? sha('before'),
    after: options.after ?? commits.at(-1)?.id ?? sha('after'),
    compare_url: `${web}/compare/a...b`,
    commits,
    repository: {
      id: 1,
      owner: { id: 1, username: owner, login: owner, full_name: '', email: 'ops@example.com', avatar_url: '' },
      name,
      full_name: options.repo,
      description: '',
      private: false,
      fork: false,
      html_url: web,
      ssh_url: `git@${host}:${options.repo}.git`,
      clone_url: `${web}.git`,
      website: '',
      stars_count: 0,
      forks_count: 0,
      watchers_count: 1,
      open_issues_count: 0,
      default_branch: options.defaultBranch ?? 'master',
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-05-01T10:00:00Z',
    },
    pusher: { id: 1, username: 'lilei', login: 'lilei', full_name: 'Li Lei', email: 'lilei@example.com', avatar_url: '' },
    sender: { id: 1, username: 'lilei', login: 'lilei', full_name: 'Li Lei', email: 'lilei@example.com', avatar_url: '' },
  };
  const body = JSON.stringify(payload);
  return {
    headers: {
      'content-type': 'application/json',
      'x-gogs-event': 'push',
      'x-gogs-delivery': randomUUID(),
      'x-gogs-signature': hex256(secret, body),
    },
    body,
  };
}
