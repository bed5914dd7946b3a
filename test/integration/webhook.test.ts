// Git push webhooks against the real API server: for each provider a documented-shape,
// correctly signed push must put argocd.argoproj.io/refresh=normal on exactly the
// Applications that follow that repository and revision (every URL form, HEAD, branch,
// tag, multi-source, manifest-generate-paths), and every bad request must patch nothing.
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
import {
  clearRefreshAnnotations,
  deliver,
  refreshedApps,
  startReceiverUnderTest,
  writeWebhookSecret,
  type ReceiverUnderTest,
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
};

let namespace: string;
let receiver: ReceiverUnderTest;

test.before(async () => {
  namespace = await createTestNamespace(import.meta.url);
  await writeWebhookSecret(namespace, SECRETS);
  const api = testCluster().kc.makeApiClient(CustomObjectsApi);
  for (const [name, options] of Object.entries(APPS)) {
    const app = buildApp({ ...options, name, namespace });
    await api.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', body: app });
  }
  receiver = await startReceiverUnderTest(namespace, { bodyLimitBytes: 1024 * 1024 });
  await waitFor(() => receiver.appCount() === Object.keys(APPS).length, 'the receiver to see every Application');
});

test.after.always(async () => {
  await receiver?.stop();
});

test.beforeEach(async () => {
  await receiver.receiver.idle();
  await clearRefreshAnnotations(namespace);
});

/** Delivers, waits for the expected annotations and for the receiver to finish, then returns every refreshed app. */
async function pushAndCollect(delivery: { headers: Record<string, string>; body: string }, expected: string[]): Promise<{ status: number; body: string; refreshed: string[] }> {
  const answer = await deliver(receiver.port, delivery);
  const want = [...expected].sort();
  await waitFor(async () => {
    const have = await refreshedApps(namespace);
    return want.every((name) => have.includes(name));
  }, `refresh annotations on ${want.join(', ')}`);
  await receiver.receiver.idle();
  return { ...answer, refreshed: await refreshedApps(namespace) };
}

async function nothingPatched(): Promise<string[]> {
  await receiver.receiver.idle();
  return refreshedApps(namespace);
}

test.serial('GitHub push to main refreshes every URL form, HEAD, refs/heads, multi-source and path-matching apps, and no other', async (t) => {
  const delivery = githubPush(
    {
      repo: 'acme/guestbook',
      ref: 'refs/heads/main',
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
  ];
  const result = await pushAndCollect(delivery, expected);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, [...expected].sort());
  t.deepEqual(JSON.parse(result.body).applications.map((a: string) => a.split('/')[1]).sort(), [...expected].sort());
  const line = receiver.lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('Received push event repo: https://github.com/acme/guestbook, revision: main'));
  t.truthy(line, 'one log line names the repo, the revision and the apps');
  t.is(line.refreshed.length, expected.length);
  t.true(line.msg.includes(`${namespace}/gh-https-main`));
});

test.serial('GitHub tag push refreshes the apps that follow that tag (plain and refs/tags/ forms) only', async (t) => {
  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/tags/v1.4.0', commits: [] }, SECRETS['webhook.github.secret']);
  const result = await pushAndCollect(delivery, ['gh-tag', 'gh-refs-tags']);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['gh-refs-tags', 'gh-tag']);
});

test.serial('GitHub push to another branch refreshes only the apps on that branch', async (t) => {
  const delivery = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/develop', defaultBranch: 'main' }, SECRETS['webhook.github.secret']);
  const result = await pushAndCollect(delivery, ['gh-develop']);
  t.deepEqual(result.refreshed, ['gh-develop']);
});

test.serial('GitLab Push Hook (nested groups) refreshes https, scp-like and HEAD apps; Tag Push Hook the tag app', async (t) => {
  const push = gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main', defaultBranch: 'main' }, SECRETS['webhook.gitlab.secret']);
  const result = await pushAndCollect(push, ['gl-https', 'gl-scp']);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['gl-https', 'gl-scp']);
  await clearRefreshAnnotations(namespace);
  const tag = gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/tags/v2.0.0', commits: [] }, SECRETS['webhook.gitlab.secret']);
  t.deepEqual((await pushAndCollect(tag, ['gl-tag'])).refreshed, ['gl-tag']);
});

test.serial('Bitbucket Cloud repo:push refreshes HEAD and branch apps; paths cannot exclude an app without a file list', async (t) => {
  const delivery = bitbucketCloudPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, BITBUCKET_HOOK_UUID);
  const result = await pushAndCollect(delivery, ['bb-https-head', 'bb-scp-main', 'bb-paths-cannot-exclude']);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['bb-https-head', 'bb-paths-cannot-exclude', 'bb-scp-main']);
});

test.serial('Bitbucket Server repo:refs_changed matches the http (/scm/) and ssh (:7999) clone URLs', async (t) => {
  const delivery = bitbucketServerPush({ repo: 'proj/guestbook', ref: 'refs/heads/main' }, SECRETS['webhook.bitbucketserver.secret']);
  const result = await pushAndCollect(delivery, ['bbs-http', 'bbs-ssh']);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['bbs-http', 'bbs-ssh']);
});

test.serial('Gogs push to the default branch refreshes the HEAD and master apps', async (t) => {
  const delivery = gogsPush({ repo: 'acme/guestbook', ref: 'refs/heads/master', defaultBranch: 'master' }, SECRETS['webhook.gogs.secret']);
  const result = await pushAndCollect(delivery, ['gogs-https-head', 'gogs-scp-master']);
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
    const answer = await deliver(receiver.port, delivery);
    t.is(answer.status, 401, delivery.headers['x-github-event'] ?? delivery.headers['x-gitlab-event'] ?? delivery.headers['x-event-key'] ?? 'gogs');
  }
  t.deepEqual(await nothingPatched(), []);
  t.false(receiver.lines.some((line) => Object.values(SECRETS).some((secret) => line.includes(secret))), 'no secret in any log line');
});

test.serial('malformed JSON → 400; missing fields → 400 naming them; nothing patched', async (t) => {
  const good = githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, SECRETS['webhook.github.secret']);
  const signed = (body: string) => ({ headers: { ...good.headers, 'x-hub-signature-256': signBody(SECRETS['webhook.github.secret'], body, 'sha256=') }, body });
  const truncated = await deliver(receiver.port, signed(good.body.slice(0, good.body.length / 2)));
  t.is(truncated.status, 400);
  t.regex(JSON.parse(truncated.body).message, /GitHub push payload: body is not valid JSON/);
  const noRepo = await deliver(receiver.port, signed(JSON.stringify({ ref: 'refs/heads/main' })));
  t.is(noRepo.status, 400);
  t.regex(JSON.parse(noRepo.body).message, /repository is missing/);
  const gitlabBad = gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main' }, SECRETS['webhook.gitlab.secret']);
  const gitlabAnswer = await deliver(receiver.port, { headers: gitlabBad.headers, body: '{"object_kind":"push","ref":42}' });
  t.is(gitlabAnswer.status, 400);
  t.regex(JSON.parse(gitlabAnswer.body).message, /ref must be a non-empty string, got a number/);
  t.deepEqual(await nothingPatched(), []);
});

test.serial('a body over the limit → 413 (declared and streamed), nothing patched', async (t) => {
  const huge = githubPush(
    { repo: 'acme/guestbook', ref: 'refs/heads/main', commits: Array.from({ length: 12_000 }, (_, i) => ({ modified: [`apps/guestbook/file-${i}-${'x'.repeat(60)}.yaml`] })) },
    SECRETS['webhook.github.secret'],
  );
  t.true(huge.body.length > 1024 * 1024);
  t.is((await deliver(receiver.port, huge)).status, 413);
  const chunked = await deliver(receiver.port, { headers: { ...huge.headers, 'transfer-encoding': 'chunked' }, body: huge.body });
  t.is(chunked.status, 413);
  t.deepEqual(await nothingPatched(), []);
  const counted = (await receiver.metrics.webhookRequests.get()).values.find((v) => v.labels.provider === 'github' && v.labels.result === 'too_large');
  t.is(counted?.value, 2);
});

test.serial('a ping or an unrelated event → 2xx and nothing patched', async (t) => {
  const answers = [
    await deliver(receiver.port, githubPing(SECRETS['webhook.github.secret'])),
    await deliver(receiver.port, bitbucketServerPing(SECRETS['webhook.bitbucketserver.secret'])),
  ];
  const issue = githubPing(SECRETS['webhook.github.secret']);
  answers.push(await deliver(receiver.port, { headers: { ...issue.headers, 'x-github-event': 'issues' }, body: issue.body }));
  const mr = gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main' }, SECRETS['webhook.gitlab.secret']);
  answers.push(await deliver(receiver.port, { headers: { ...mr.headers, 'x-gitlab-event': 'Merge Request Hook' }, body: mr.body }));
  const prRef = githubPush({ repo: 'acme/guestbook', ref: 'refs/pull/12/head' }, SECRETS['webhook.github.secret']);
  answers.push(await deliver(receiver.port, prRef));
  for (const answer of answers) t.true(answer.status >= 200 && answer.status < 300, answer.body);
  t.deepEqual(await nothingPatched(), []);
});

test.serial('a provider whose secret is not configured is rejected with a log line naming the Secret key', async (t) => {
  const { 'webhook.gogs.secret': _, ...withoutGogs } = SECRETS;
  await writeWebhookSecret(namespace, withoutGogs);
  const delivery = gogsPush({ repo: 'acme/guestbook', ref: 'refs/heads/master' }, SECRETS['webhook.gogs.secret']);
  let status = 0;
  await waitFor(async () => (status = (await deliver(receiver.port, delivery)).status) === 403, 'the receiver to notice the removed key');
  t.is(status, 403);
  t.true(receiver.lines.some((line) => line.includes(`Gogs webhook rejected: no secret configured (Secret ${namespace}/argocd-secret has no key webhook.gogs.secret)`)));
  t.deepEqual(await nothingPatched(), []);
  await writeWebhookSecret(namespace, SECRETS);
  await waitFor(async () => (await deliver(receiver.port, delivery)).status === 202, 'the key to be back');
});

test.serial('rotating a secret in the Secret takes effect without a restart', async (t) => {
  const rotated = 'gh-rotated-secret-2';
  const push = { repo: 'acme/guestbook', ref: 'refs/heads/develop' };
  await writeWebhookSecret(namespace, { ...SECRETS, 'webhook.github.secret': rotated });
  await waitFor(async () => (await deliver(receiver.port, githubPush(push, SECRETS['webhook.github.secret']))).status === 401, 'the old secret to stop working');
  t.deepEqual(await nothingPatched(), []);
  const result = await pushAndCollect(githubPush(push, rotated), ['gh-develop']);
  t.is(result.status, 202);
  t.deepEqual(result.refreshed, ['gh-develop']);
  t.is((await deliver(receiver.port, githubPush(push, SECRETS['webhook.github.secret']))).status, 401);
  t.false(receiver.lines.some((line) => line.includes(rotated)));
  await writeWebhookSecret(namespace, SECRETS);
});
