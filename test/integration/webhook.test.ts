// Git push webhooks sent to the running operator (`herald controller`) against the real
// API server: for each provider a documented-shape, correctly signed push must put
// argocd.argoproj.io/refresh=normal on exactly the Applications that follow that
// repository and revision (every URL form, HEAD, branch, tag, multi-source,
// manifest-generate-paths), and every bad request must patch nothing.
import test from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { signBody } from '../../src/webhook/signature.js';
import { createTestNamespace, testCluster } from '../support/cluster.js';
import { buildApp, type AppOptions } from '../support/fixtures/apps.js';
import { waitFor } from '../support/wait.js';
import {
  bitbucketCloudPush,
  bitbucketServerPing,
  bitbucketServerPush,
  githubPing,
  githubPush,
  gitlabPush,
  gogsPush,
} from '../support/webhook-payloads.js';
import type { RunningOperator } from '../support/operator.js';
import {
  clearRefreshAnnotations,
  commitId,
  deliver,
  pushHandled,
  refreshedApps,
  startOperatorWithWebhook,
  webhookRequestCount,
  writeWebhookSecret,
} from './webhook-support.js';

const SECRETS = {
  'webhook.github.secret': 'gh-integration-secret',
  'webhook.gitlab.secret': 'gl-integration-token',
  'webhook.bitbucket.uuid': '{7B1F3C52-9A4E-4D0B-8C55-2E6F0A9D1B34}',
  'webhook.bitbucketserver.secret': 'bbs-integration-secret',
  'webhook.gogs.secret': 'gogs-integration-secret',
  'admin.password': '$2a$10$notAWebhookKeyAndNeverRead',
};
const BITBUCKET_HOOK_UUID = '7b1f3c52-9a4e-4d0b-8c55-2e6f0a9d1b34';
const PATHS = 'argocd.argoproj.io/manifest-generate-paths';

const GH = 'github.com/acme/guestbook';
const GL = 'gitlab.example.com/platform/deploy/guestbook';

// name → how the app follows its repository. Grouped by provider.
const APPS: Record<string, AppOptions> = {
  // GitHub: every URL form, HEAD / empty / branch / refs/heads / tag / SHA, multi-source, paths.
  'gh-https-git-head': { repoURL: `https://${GH}.git`, targetRevision: 'HEAD' },
  'gh-https-main': { repoURL: `https://${GH}`, targetRevision: 'main' },
  'gh-ssh-port-refs-heads': { repoURL: `ssh://git@${GH.replace('/', ':22/')}.git`, targetRevision: 'refs/heads/main' },
  'gh-scp-empty-revision': { repoURL: 'git@github.com:acme/guestbook', targetRevision: '' },
  'gh-upper-case-slash': { repoURL: 'HTTPS://GitHub.com/ACME/Guestbook/', targetRevision: 'main' },
  'gh-user-info': { repoURL: 'https://ci-bot@github.com/acme/guestbook.git', targetRevision: 'main' },
  'gh-develop': { repoURL: `https://${GH}.git`, targetRevision: 'develop' },
  'gh-tag': { repoURL: `https://${GH}.git`, targetRevision: 'v1.4.0' },
  'gh-refs-tags': { repoURL: 'git@github.com:acme/guestbook.git', targetRevision: 'refs/tags/v1.4.0' },
  'gh-sha': { repoURL: `https://${GH}.git`, targetRevision: '9f1c2ab3e4d5f60718293a4b5c6d7e8f90a1b2c3' },
  'gh-other-repo': { repoURL: 'https://github.com/acme/guestbook-config.git', targetRevision: 'HEAD' },
  'gh-multi-source': {
    sources: [
      { repoURL: 'https://charts.example.com/stable', chart: 'redis', targetRevision: '17.0.0' },
      { repoURL: 'https://github.com/acme/other.git', targetRevision: 'main', path: 'base' },
      { repoURL: 'git@github.com:acme/guestbook.git', targetRevision: 'HEAD', path: 'envs/prod' },
    ],
  },
  'gh-multi-source-elsewhere': {
    sources: [
      { repoURL: 'https://charts.example.com/stable', chart: 'redis', targetRevision: '17.0.0' },
      { repoURL: 'https://github.com/acme/other.git', targetRevision: 'main', path: 'base' },
    ],
  },
  'gh-paths-dot-hit': { repoURL: `https://${GH}.git`, targetRevision: 'HEAD', path: 'apps/guestbook', annotations: { [PATHS]: '.' } },
  'gh-paths-dot-miss': { repoURL: `https://${GH}.git`, targetRevision: 'HEAD', path: 'apps/billing', annotations: { [PATHS]: '.' } },
  'gh-paths-absolute-hit': { repoURL: `https://${GH}.git`, targetRevision: 'HEAD', path: 'apps/frontend', annotations: { [PATHS]: '/shared' } },
  'gh-paths-relative-hit': { repoURL: `https://${GH}.git`, targetRevision: 'HEAD', path: 'apps/frontend', annotations: { [PATHS]: '../common;/nowhere' } },
  'gh-paths-relative-miss': { repoURL: `https://${GH}.git`, targetRevision: 'HEAD', path: 'apps/frontend', annotations: { [PATHS]: 'overlays;/charts' } },
  // GitLab (nested groups)
  'gl-https': { repoURL: `https://${GL}.git`, targetRevision: 'HEAD' },
  'gl-scp': { repoURL: 'git@gitlab.example.com:platform/deploy/guestbook.git', targetRevision: 'main' },
  'gl-develop': { repoURL: `https://${GL}`, targetRevision: 'develop' },
  'gl-tag': { repoURL: `https://${GL}`, targetRevision: 'v2.0.0' },
  // Bitbucket Cloud (no default branch, no changed files in the payload)
  'bb-https-head': { repoURL: 'https://bitbucket.org/acme/guestbook.git', targetRevision: 'HEAD' },
  'bb-scp-main': { repoURL: 'git@bitbucket.org:acme/guestbook.git', targetRevision: 'main' },
  'bb-paths-cannot-exclude': { repoURL: 'https://bitbucket.org/acme/guestbook', targetRevision: 'main', path: 'apps/billing', annotations: { [PATHS]: '.' } },
  'bb-develop': { repoURL: 'https://bitbucket.org/acme/guestbook', targetRevision: 'develop' },
  // Bitbucket Server (http clone URL under /scm/, ssh on port 7999)
  'bbs-http': { repoURL: 'https://bitbucket.example.com/scm/proj/guestbook.git', targetRevision: 'main' },
  'bbs-ssh': { repoURL: 'ssh://git@bitbucket.example.com:7999/proj/guestbook.git', targetRevision: 'refs/heads/main' },
  'bbs-develop': { repoURL: 'https://bitbucket.example.com/scm/proj/guestbook.git', targetRevision: 'develop' },
  // Gogs (default branch master)
  'gogs-https-head': { repoURL: 'https://gogs.example.com/acme/guestbook.git', targetRevision: 'HEAD' },
  'gogs-scp-master': { repoURL: 'git@gogs.example.com:acme/guestbook.git', targetRevision: 'master' },
  'gogs-develop': { repoURL: 'https://gogs.example.com/acme/guestbook', targetRevision: 'develop' },
  // Its own repository: a push to it marks the point by which earlier requests were handled.
  barrier: { repoURL: 'https://github.com/acme/barrier.git', targetRevision: 'HEAD' },
};

let namespace: string;
let operator: RunningOperator & { webhookPort: number };
let port: number;

test.before(async () => {
  namespace = await createTestNamespace(import.meta.url);
  await writeWebhookSecret(namespace, SECRETS);
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  for (const [name, options] of Object.entries(APPS)) {
    const app = buildApp({ ...options, name, namespace });
    await api.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', body: app });
  }
  operator = await startOperatorWithWebhook(namespace, { bodyLimitBytes: 1024 * 1024 });
  port = operator.webhookPort;
});

test.after.always(async () => {
  await operator?.stop();
});

test.beforeEach(async () => {
  await clearRefreshAnnotations(namespace);
});

/** Delivers a push whose new commit is `after`, waits until the operator logged it as handled, and returns every refreshed app. */
async function pushAndCollect(delivery: { headers: Record<string, string>; body: string }, after: string): Promise<{ status: number; body: string; refreshed: string[]; log: Record<string, unknown> }> {
  const answer = await deliver(port, delivery);
  const log = answer.status === 202 ? await pushHandled(operator, after) : {};
  return { ...answer, log, refreshed: await refreshedApps(namespace) };
}

/**
 * The apps refreshed so far, apart from the barrier: a push to the barrier's own repo
 * goes through the same queue, so once it is handled, earlier requests are too.
 */
async function refreshedBeforeBarrier(): Promise<string[]> {
  const after = commitId();
  const answer = await deliver(port, githubPush({ repo: 'acme/barrier', ref: 'refs/heads/main', after }, SECRETS['webhook.github.secret']));
  if (answer.status !== 202) throw new Error(`barrier push answered ${answer.status}: ${answer.body}`);
  await pushHandled(operator, after);
  return (await refreshedApps(namespace)).filter((name) => name !== 'barrier');
}

test.serial('GitHub push to main refreshes every URL form, HEAD, refs/heads, multi-source and path-matching apps, and no other', async (t) => {
  const after = commitId();
  const delivery = githubPush(
    {
      repo: 'acme/guestbook',
      ref: 'refs/heads/main',
      after,
      defaultBranch: 'main',
      commits: [
        { modified: ['apps/guestbook/deployment.yaml'] },
        { added: ['shared/labels.yaml'], removed: ['apps/common/old.yaml'] },
      ],
    },
    SECRETS['webhook.github.secret'],
  );
  const expected = [
    'gh-https-git-head',
    'gh-https-main',
    'gh-ssh-port-refs-heads',
    'gh-scp-empty-revision',
    'gh-upper-case-slash',
    'gh-user-info',
    'gh-multi-source',
    'gh-paths-dot-hit',
    'gh-paths-absolute-hit',
    'gh-paths-relative-hit',
  ].sort();
  const result = await pushAndCollect(delivery, after);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, expected);
  t.deepEqual(JSON.parse(result.body).applications.map((a: string) => a.split('/')[1]).sort(), expected);
  // One log line names the repo, the revision and the apps refreshed.
  t.regex(String(result.log.msg), /^Received push event repo: https:\/\/github\.com\/acme\/guestbook, revision: main, touchedHead: true; refreshed 10 app\(s\): /);
  t.deepEqual([...(result.log.refreshed as string[])].sort(), expected.map((name) => `${namespace}/${name}`));
});

test.serial('GitHub tag push refreshes the apps that follow that tag (plain and refs/tags/ forms) only', async (t) => {
  const after = commitId();
  const result = await pushAndCollect(githubPush({ repo: 'acme/guestbook', ref: 'refs/tags/v1.4.0', after, commits: [] }, SECRETS['webhook.github.secret']), after);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['gh-refs-tags', 'gh-tag']);
});

test.serial('GitHub push to another branch refreshes only the apps on that branch', async (t) => {
  const after = commitId();
  const result = await pushAndCollect(githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/develop', after, defaultBranch: 'main' }, SECRETS['webhook.github.secret']), after);
  t.deepEqual(result.refreshed, ['gh-develop']);
});

test.serial('GitLab Push Hook (nested groups) refreshes https, scp-like and HEAD apps; Tag Push Hook the tag app', async (t) => {
  const after = commitId();
  const result = await pushAndCollect(gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main', after, defaultBranch: 'main' }, SECRETS['webhook.gitlab.secret']), after);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['gl-https', 'gl-scp']);
  await clearRefreshAnnotations(namespace);
  const tagAfter = commitId();
  const tag = await pushAndCollect(gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/tags/v2.0.0', after: tagAfter, commits: [] }, SECRETS['webhook.gitlab.secret']), tagAfter);
  t.deepEqual(tag.refreshed, ['gl-tag']);
});

test.serial('Bitbucket Cloud repo:push refreshes HEAD and branch apps; paths cannot exclude an app without a file list', async (t) => {
  const after = commitId();
  const result = await pushAndCollect(bitbucketCloudPush({ repo: 'acme/guestbook', ref: 'refs/heads/main', after }, BITBUCKET_HOOK_UUID), after);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['bb-https-head', 'bb-paths-cannot-exclude', 'bb-scp-main']);
});

test.serial('Bitbucket Server repo:refs_changed matches the http (/scm/) and ssh (:7999) clone URLs', async (t) => {
  const after = commitId();
  const result = await pushAndCollect(bitbucketServerPush({ repo: 'proj/guestbook', ref: 'refs/heads/main', after }, SECRETS['webhook.bitbucketserver.secret']), after);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['bbs-http', 'bbs-ssh']);
});

test.serial('Gogs push to the default branch refreshes the HEAD and master apps', async (t) => {
  const after = commitId();
  const result = await pushAndCollect(gogsPush({ repo: 'acme/guestbook', ref: 'refs/heads/master', after, defaultBranch: 'master' }, SECRETS['webhook.gogs.secret']), after);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['gogs-https-head', 'gogs-scp-master']);
});

test.serial('a wrong signature or token → 401 and nothing patched, for every provider', async (t) => {
  const push = { repo: 'acme/guestbook', ref: 'refs/heads/main' };
  const forged = [
    githubPush(push, 'guessed-secret'),
    gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main' }, 'guessed-token'),
    bitbucketCloudPush(push, '00000000-0000-4000-8000-000000000000'),
    bitbucketServerPush({ repo: 'proj/guestbook', ref: 'refs/heads/main' }, 'guessed-secret'),
    gogsPush({ ...push, ref: 'refs/heads/master' }, 'guessed-secret'),
  ];
  // A valid signature over a different body must fail too.
  const tampered = githubPush(push, SECRETS['webhook.github.secret']);
  forged.push({ headers: tampered.headers, body: tampered.body.replace('"ref":"refs/heads/main"', '"ref":"refs/heads/develop"') });
  for (const delivery of forged) {
    const answer = await deliver(port, delivery);
    t.is(answer.status, 401, delivery.headers['x-github-event'] ?? delivery.headers['x-gitlab-event'] ?? delivery.headers['x-event-key'] ?? 'gogs');
  }
  t.deepEqual(await refreshedBeforeBarrier(), []);
  const failures = operator.records().filter((r) => typeof r.msg === 'string' && / webhook verification failed/.test(r.msg));
  t.true(failures.length >= forged.length, 'each failed verification is logged');
  t.false(operator.output.some((line) => Object.values(SECRETS).some((secret) => line.includes(secret))), 'no secret in any log line');
});

test.serial('malformed JSON → 400; missing fields → 400 naming them; nothing patched', async (t) => {
  const good = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, SECRETS['webhook.github.secret']);
  const signed = (body: string) => ({ headers: { ...good.headers, 'x-hub-signature-256': signBody(SECRETS['webhook.github.secret'], body, 'sha256=') }, body });
  const truncated = await deliver(port, signed(good.body.slice(0, good.body.length / 2)));
  t.is(truncated.status, 400);
  t.regex(JSON.parse(truncated.body).message, /GitHub push payload: body is not valid JSON/);
  const noRepo = await deliver(port, signed(JSON.stringify({ ref: 'refs/heads/main' })));
  t.is(noRepo.status, 400);
  t.regex(JSON.parse(noRepo.body).message, /repository is missing/);
  const gitlabBad = gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main' }, SECRETS['webhook.gitlab.secret']);
  const gitlabAnswer = await deliver(port, { headers: gitlabBad.headers, body: '{"object_kind":"push","ref":42}' });
  t.is(gitlabAnswer.status, 400);
  t.regex(JSON.parse(gitlabAnswer.body).message, /ref must be a non-empty string, got a number/);
  t.deepEqual(await refreshedBeforeBarrier(), []);
});

test.serial('a body over the limit → 413 (declared and streamed), nothing patched', async (t) => {
  const before = await webhookRequestCount(operator, 'github', 'too_large');
  const huge = githubPush(
    { repo: 'acme/guestbook', ref: 'refs/heads/main', commits: Array.from({ length: 12_000 }, (_, i) => ({ modified: [`apps/guestbook/file-${i}-${'x'.repeat(60)}.yaml`] })) },
    SECRETS['webhook.github.secret'],
  );
  t.true(huge.body.length > 1024 * 1024);
  const declared = await deliver(port, { headers: { ...huge.headers, 'content-length': String(Buffer.byteLength(huge.body)) }, body: huge.body });
  t.is(declared.status, 413);
  t.regex(JSON.parse(declared.body).message, /exceeds the limit of 1048576 bytes/);
  const chunked = await deliver(port, { headers: { ...huge.headers, 'transfer-encoding': 'chunked' }, body: huge.body });
  t.is(chunked.status, 413);
  t.deepEqual(await refreshedBeforeBarrier(), []);
  t.is((await webhookRequestCount(operator, 'github', 'too_large')) - before, 2);
});

test.serial('a ping or an unrelated event → 2xx and nothing patched', async (t) => {
  const answers = [
    await deliver(port, githubPing(SECRETS['webhook.github.secret'])),
    await deliver(port, bitbucketServerPing(SECRETS['webhook.bitbucketserver.secret'])),
  ];
  const issue = githubPing(SECRETS['webhook.github.secret']);
  answers.push(await deliver(port, { headers: { ...issue.headers, 'x-github-event': 'issues' }, body: issue.body }));
  const mr = gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main' }, SECRETS['webhook.gitlab.secret']);
  answers.push(await deliver(port, { headers: { ...mr.headers, 'x-gitlab-event': 'Merge Request Hook' }, body: mr.body }));
  answers.push(await deliver(port, githubPush({ repo: 'acme/guestbook', ref: 'refs/pull/12/head' }, SECRETS['webhook.github.secret'])));
  for (const answer of answers) t.true(answer.status >= 200 && answer.status < 300, answer.body);
  t.deepEqual(await refreshedBeforeBarrier(), []);
});

test.serial('a provider whose secret is not configured is rejected with a log line naming the Secret key', async (t) => {
  const { 'webhook.gogs.secret': _, ...withoutGogs } = SECRETS;
  await writeWebhookSecret(namespace, withoutGogs);
  // Polled with a push to a repository no app follows, so that the polls patch nothing
  // while the operator still has the old key.
  const unrelated = gogsPush({ repo: 'acme/unfollowed', ref: 'refs/heads/master' }, SECRETS['webhook.gogs.secret']);
  await waitFor(async () => (await deliver(port, unrelated)).status === 403, 'the operator to notice the removed key');
  const answer = await deliver(port, gogsPush({ repo: 'acme/guestbook', ref: 'refs/heads/master' }, SECRETS['webhook.gogs.secret']));
  t.is(answer.status, 403);
  t.regex(JSON.parse(answer.body).message, /Gogs webhooks are not enabled on this receiver/);
  const line = await operator.waitForLog(
    (r) => r.msg === `Gogs webhook rejected: no secret configured (Secret ${namespace}/argocd-secret has no key webhook.gogs.secret)`,
    'the not-configured log line',
  );
  t.is(line.level, 'warn');
  t.deepEqual(await refreshedBeforeBarrier(), []);
  await writeWebhookSecret(namespace, SECRETS);
  await waitFor(async () => (await deliver(port, unrelated)).status === 202, 'the key to be back');
});

test.serial('rotating a secret in the Secret takes effect without a restart', async (t) => {
  const rotated = 'gh-rotated-secret-2';
  const pid = operator.process.pid;
  await writeWebhookSecret(namespace, { ...SECRETS, 'webhook.github.secret': rotated });
  const develop = (secret: string, after = commitId()) => githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/develop', after }, secret);
  // Polled with pings, which patch nothing while the old secret is still accepted.
  await waitFor(async () => (await deliver(port, githubPing(SECRETS['webhook.github.secret']))).status === 401, 'the old secret to stop working');
  t.is((await deliver(port, develop(SECRETS['webhook.github.secret']))).status, 401);
  t.deepEqual(await refreshedApps(namespace), []);
  const after = commitId();
  const result = await pushAndCollect(develop(rotated, after), after);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['gh-develop']);
  t.is((await deliver(port, develop(SECRETS['webhook.github.secret']))).status, 401);
  t.is(operator.process.pid, pid);
  t.is(operator.process.exitCode, null, 'same process, no restart');
  t.false(operator.output.some((line) => line.includes(rotated)), 'the new secret is not logged either');
  await writeWebhookSecret(namespace, SECRETS);
  await waitFor(async () => (await deliver(port, githubPing(SECRETS['webhook.github.secret']))).status === 200, 'the original secret to work again');
});
