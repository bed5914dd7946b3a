import test from 'ava';
import { decideWebhook } from '../../src/webhook/handler.js';
import { detectProvider } from '../../src/webhook/providers.js';
import { signBody, tokensEqual, verifyHexHmac } from '../../src/webhook/signature.js';
import type { ApplicationLike, WebhookRequest, WebhookSecrets } from '../../src/webhook/types.js';
import {
  bitbucketCloudPush,
  bitbucketServerPing,
  bitbucketServerPush,
  githubPing,
  githubPush,
  gitlabPush,
  gogsPush,
  type Delivery,
} from '../support/webhook-payloads.js';

const SECRETS: WebhookSecrets = {
  github: 'gh-secret-value',
  gitlab: 'gl-token-value',
  bitbucket: '{4E5A1C2B-0000-4000-8000-00000000ABCD}',
  bitbucketserver: 'bbs-secret-value',
  gogs: 'gogs-secret-value',
};

const request = (delivery: Delivery): WebhookRequest => ({ headers: delivery.headers, body: Buffer.from(delivery.body) });
const noApps = () => [] as ApplicationLike[];
const decide = (delivery: Delivery, secrets: WebhookSecrets = SECRETS, apps: () => Iterable<ApplicationLike> = noApps) =>
  decideWebhook(request(delivery), secrets, apps, 'Secret argocd/argocd-secret');

const deliveries = {
  github: () => githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main', commits: [{ added: ['a.yaml'], modified: ['b.yaml'] }, { removed: ['c.yaml'], modified: ['b.yaml'] }] }, SECRETS.github!),
  gitlab: () => gitlabPush({ repo: 'platform/deploy/guestbook', ref: 'refs/heads/main', commits: [{ added: ['a.yaml'], modified: ['b.yaml'] }, { removed: ['c.yaml'] }] }, SECRETS.gitlab!),
  bitbucket: () => bitbucketCloudPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, '4e5a1c2b-0000-4000-8000-00000000abcd'),
  bitbucketserver: () => bitbucketServerPush({ repo: 'proj/guestbook', ref: 'refs/heads/main' }, SECRETS.bitbucketserver!),
  gogs: () => gogsPush({ repo: 'acme/guestbook', ref: 'refs/heads/main', commits: [{ added: ['a.yaml'], modified: ['b.yaml'] }, { removed: ['c.yaml'] }] }, SECRETS.gogs!),
} as const;

test('signature helpers: hex HMAC with and without prefix, tokens of any length, constant-time paths', (t) => {
  const body = Buffer.from('{"a":1}');
  const signature = signBody('s3cret', body, 'sha256=');
  t.true(verifyHexHmac(signature, 's3cret', body, 'sha256='));
  t.true(verifyHexHmac(signature.toUpperCase().replace('SHA256=', 'sha256='), 's3cret', body, 'sha256='), 'hex case does not matter');
  t.false(verifyHexHmac(signature, 'other', body, 'sha256='));
  t.false(verifyHexHmac(signature, 's3cret', Buffer.from('{"a":2}'), 'sha256='));
  t.false(verifyHexHmac(signature.slice(7), 's3cret', body, 'sha256='), 'prefix required');
  t.false(verifyHexHmac(`${signature}00`, 's3cret', body, 'sha256='), 'too long');
  t.false(verifyHexHmac(signature.slice(0, -2), 's3cret', body, 'sha256='), 'too short');
  t.false(verifyHexHmac(`sha1=${'0'.repeat(40)}`, 's3cret', body, 'sha256='));
  t.false(verifyHexHmac('sha256=' + 'zz'.repeat(32), 's3cret', body, 'sha256='));
  t.false(verifyHexHmac(undefined, 's3cret', body));
  t.true(verifyHexHmac(signBody('s3cret', body), 's3cret', body));
  t.true(tokensEqual('abc', 'abc'));
  t.false(tokensEqual('abc', 'abcd'));
  t.false(tokensEqual('', 'abc'));
  t.false(tokensEqual(undefined, 'abc'));
});

test('providers are told apart by headers, Gogs before GitHub and Bitbucket Cloud before Server', (t) => {
  t.is(detectProvider(deliveries.github().headers)?.name, 'github');
  t.is(detectProvider(deliveries.gitlab().headers)?.name, 'gitlab');
  t.is(detectProvider(deliveries.bitbucket().headers)?.name, 'bitbucket');
  t.is(detectProvider(deliveries.bitbucketserver().headers)?.name, 'bitbucketserver');
  t.is(detectProvider(deliveries.gogs().headers)?.name, 'gogs');
  t.is(detectProvider({ ...deliveries.gogs().headers, 'x-github-event': 'push' })?.name, 'gogs');
  t.is(detectProvider({ 'content-type': 'application/json' }), undefined);
});

test('GitHub push: every repo URL form, branch, default branch, changed files from all commits, before/after', (t) => {
  const decision = decide(deliveries.github());
  t.is(decision.status, 202);
  t.is(decision.result, 'accepted');
  const push = decision.pushes![0]!.push;
  t.deepEqual(push.repoURLs, [
    'https://github.com/acme/guestbook',
    'https://github.com/acme/guestbook.git',
    'git@github.com:acme/guestbook.git',
    'git://github.com/acme/guestbook.git',
  ]);
  t.is(push.revision, 'main');
  t.false(push.isTag);
  t.is(push.defaultBranch, 'main');
  t.deepEqual(push.changedFiles, ['a.yaml', 'b.yaml', 'c.yaml']);
  t.regex(push.after!, /^[0-9a-f]{40}$/);
});

test('GitHub tag push and a push with the full 2048 commits (changed files unknown)', (t) => {
  const tag = decide(githubPush({ repo: 'acme/guestbook', ref: 'refs/tags/v1.4.0', commits: [] }, SECRETS.github!)).pushes![0]!.push;
  t.is(tag.revision, 'v1.4.0');
  t.true(tag.isTag);
  const many = Array.from({ length: 2048 }, () => ({ modified: ['x.yaml'] }));
  t.is(decide(githubPush({ repo: 'acme/guestbook', ref: 'refs/heads/main', commits: many }, SECRETS.github!)).pushes![0]!.push.changedFiles, undefined);
});

test('GitHub form-encoded deliveries (payload=...) are understood', (t) => {
  const json = deliveries.github().body;
  const body = `payload=${encodeURIComponent(json)}`;
  const decision = decide({
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push', 'x-hub-signature-256': signBody(SECRETS.github!, body, 'sha256=') },
    body,
  });
  t.is(decision.status, 202);
  t.is(decision.pushes![0]!.push.revision, 'main');
});

test('GitLab push, tag push and system hook; a truncated commit list leaves changed files unknown', (t) => {
  const push = decide(deliveries.gitlab()).pushes![0]!.push;
  t.is(push.provider, 'gitlab');
  t.true(push.repoURLs.includes('https://gitlab.example.com/platform/deploy/guestbook'));
  t.true(push.repoURLs.includes('git@gitlab.example.com:platform/deploy/guestbook.git'));
  t.is(push.defaultBranch, 'main');
  t.deepEqual(push.changedFiles, ['a.yaml', 'b.yaml', 'c.yaml']);
  const tag = decide(gitlabPush({ repo: 'platform/guestbook', ref: 'refs/tags/v2.0.0', commits: [] }, SECRETS.gitlab!));
  t.is(tag.status, 202);
  t.deepEqual([tag.pushes![0]!.push.revision, tag.pushes![0]!.push.isTag], ['v2.0.0', true]);
  const system = decide(gitlabPush({ repo: 'platform/guestbook', ref: 'refs/heads/main' }, SECRETS.gitlab!, { systemHook: true }));
  t.is(system.status, 202);
  const truncated = decide(gitlabPush({ repo: 'platform/guestbook', ref: 'refs/heads/main', commits: [{ modified: ['a'] }] }, SECRETS.gitlab!, { totalCommits: 57 }));
  t.is(truncated.pushes![0]!.push.changedFiles, undefined);
  const otherSystemEvent = decide({
    headers: { 'x-gitlab-event': 'System Hook', 'x-gitlab-token': SECRETS.gitlab! },
    body: JSON.stringify({ event_name: 'project_create', name: 'x' }),
  });
  t.is(otherSystemEvent.status, 200);
  t.is(otherSystemEvent.result, 'ignored');
});

test('Bitbucket Cloud: UUID compared without braces or case; several changes give several pushes; no file list', (t) => {
  const decision = decide(bitbucketCloudPush({ repo: 'acme/guestbook', ref: 'refs/heads/main', refs: ['refs/heads/main', 'refs/tags/v3'] }, '4E5A1C2B-0000-4000-8000-00000000ABCD'));
  t.is(decision.status, 202);
  const pushes = decision.pushes!.map((p) => p.push);
  t.deepEqual(pushes.map((p) => [p.revision, p.isTag]), [['main', false], ['v3', true]]);
  t.deepEqual(pushes[0]!.repoURLs, ['https://bitbucket.org/acme/guestbook']);
  t.is(pushes[0]!.changedFiles, undefined);
  t.is(pushes[0]!.defaultBranch, undefined);
  t.is(decide(bitbucketCloudPush({ repo: 'acme/guestbook', ref: 'refs/heads/main' }, 'some-other-uuid')).status, 401);
});

test('Bitbucket Cloud: a deleted branch (new: null) still names the branch', (t) => {
  const delivery = deliveries.bitbucket();
  const payload = JSON.parse(delivery.body);
  payload.push.changes[0].new = null;
  payload.push.changes[0].closed = true;
  const decision = decide({ headers: delivery.headers, body: JSON.stringify(payload) });
  t.is(decision.pushes![0]!.push.revision, 'main');
});

test('Bitbucket Server: clone links (http and ssh) as repo URLs, refs_changed, ping', (t) => {
  const decision = decide(bitbucketServerPush({ repo: 'proj/guestbook', ref: 'refs/heads/main', refs: ['refs/heads/main', 'refs/tags/v1'] }, SECRETS.bitbucketserver!));
  t.is(decision.status, 202);
  const [main, tag] = decision.pushes!.map((p) => p.push);
  t.deepEqual(main!.repoURLs, ['ssh://git@bitbucket.example.com:7999/proj/guestbook.git', 'https://bitbucket.example.com/scm/proj/guestbook.git']);
  t.deepEqual([main!.revision, main!.isTag, tag!.revision, tag!.isTag], ['main', false, 'v1', true]);
  t.is(main!.changedFiles, undefined);
  const ping = decide(bitbucketServerPing(SECRETS.bitbucketserver!));
  t.deepEqual([ping.status, ping.message], [200, 'pong']);
});

test('Gogs push: html, clone and ssh URLs, default branch, changed files', (t) => {
  const push = decide(deliveries.gogs()).pushes![0]!.push;
  t.deepEqual(push.repoURLs, ['https://gogs.example.com/acme/guestbook', 'https://gogs.example.com/acme/guestbook.git', 'git@gogs.example.com:acme/guestbook.git']);
  t.is(push.defaultBranch, 'master');
  t.deepEqual(push.changedFiles, ['a.yaml', 'b.yaml', 'c.yaml']);
});

test('GitHub ping → 200 pong; unrelated events → 200 ignored; other ref namespaces ignored', (t) => {
  t.like(decide(githubPing(SECRETS.github!)), { status: 200, result: 'ignored', message: 'pong' });
  const issues = githubPing(SECRETS.github!);
  issues.headers['x-github-event'] = 'issues';
  t.like(decide(issues), { status: 200, result: 'ignored' });
  t.like(decide(githubPush({ repo: 'acme/guestbook', ref: 'refs/pull/7/head' }, SECRETS.github!)), { status: 200, result: 'ignored' });
});

for (const provider of Object.keys(deliveries) as Array<keyof typeof deliveries>) {
  test(`${provider}: wrong or missing secret → 401, unconfigured → 403 naming the Secret key`, (t) => {
    const good = deliveries[provider]();
    t.is(decide(good).status, 202);
    const wrong = decide(good, { ...SECRETS, [provider]: 'not-the-right-secret' });
    t.like(wrong, { status: 401, result: 'unauthorized', provider });
    const tampered = decide({ headers: good.headers, body: good.body.replace('main', 'mainx') });
    if (provider === 'gitlab' || provider === 'bitbucket') t.is(tampered.status, 202, 'token schemes do not sign the body');
    else t.like(tampered, { status: 401, result: 'unauthorized' });
    const stripped = Object.fromEntries(
      Object.entries(good.headers).filter(([name]) => !['x-hub-signature-256', 'x-hub-signature', 'x-gitlab-token', 'x-gogs-signature'].includes(name)),
    );
    if (provider !== 'bitbucket') t.like(decide({ headers: stripped, body: good.body }), { status: 401 });
    const { [provider]: _, ...without } = SECRETS;
    const unconfigured = decide(good, without);
    t.like(unconfigured, { status: 403, result: 'not_configured', provider });
    t.regex(unconfigured.detail!, /no secret configured \(Secret argocd\/argocd-secret has no key webhook\.[a-z]+\.(secret|uuid)\)/);
    t.false(JSON.stringify(wrong).includes(SECRETS[provider]!), 'the secret never appears in a decision');
  });

  test(`${provider}: malformed bodies → 400 naming the problem, never an exception`, (t) => {
    const good = deliveries[provider]();
    const sign = (body: string): Delivery => {
      const headers = { ...good.headers };
      if (headers['x-hub-signature-256']) headers['x-hub-signature-256'] = signBody(SECRETS.github!, body, 'sha256=');
      if (provider === 'bitbucketserver') headers['x-hub-signature'] = signBody(SECRETS.bitbucketserver!, body, 'sha256=');
      if (provider === 'gogs') headers['x-gogs-signature'] = signBody(SECRETS.gogs!, body);
      return { headers, body };
    };
    const payload = JSON.parse(good.body);
    const cases: Array<[string, string, RegExp]> = [
      ['truncated JSON', good.body.slice(0, 40), /not valid JSON/],
      ['empty body', '', /body is empty/],
      ['JSON array', '[1,2,3]', /the body must be an object, got an array/],
      ['JSON null', 'null', /the body must be an object, got null/],
    ];
    if (provider === 'github' || provider === 'gogs' || provider === 'gitlab') {
      cases.push(['ref is a number', JSON.stringify({ ...payload, ref: 12 }), /ref must be a non-empty string, got a number/]);
      cases.push(['commits is an object', JSON.stringify({ ...payload, commits: {} }), /commits must be an array, got an object/]);
      cases.push(['added holds a number', JSON.stringify({ ...payload, commits: [{ added: [1e309] }] }), /commits\[0\]\.added\[0\] must be a non-empty string/]);
    }
    if (provider === 'github' || provider === 'gogs') {
      cases.push(['repository missing', JSON.stringify({ ...payload, repository: undefined }), /repository is missing \(must be an object\)/]);
      cases.push(['repository without URLs', JSON.stringify({ ...payload, repository: { name: 'x' } }), /repository\.html_url is missing \(must be a non-empty string\)/]);
    }
    if (provider === 'bitbucket') {
      cases.push(['changes not an array', JSON.stringify({ ...payload, push: { changes: 'x' } }), /push\.changes must be an array, got a string/]);
      cases.push(['no html link', JSON.stringify({ ...payload, repository: { links: {} } }), /repository\.links\.html is missing \(must be an object\)/]);
    }
    if (provider === 'bitbucketserver') {
      cases.push(['no clone links', JSON.stringify({ ...payload, repository: { links: { clone: [] } } }), /repository\.links\.clone must be a non-empty array/]);
      cases.push(['change without ref', JSON.stringify({ ...payload, changes: [{}] }), /changes\[0\]\.refId is missing \(must be a non-empty string\)/]);
    }
    for (const [what, body, message] of cases) {
      const decision = decide(sign(body));
      t.is(decision.status, 400, what);
      t.is(decision.result, 'malformed', what);
      t.regex(decision.message, message, what);
    }
  });
}

test('a request with no provider header → 400', (t) => {
  t.like(decide({ headers: { 'content-type': 'application/json' }, body: '{}' }), { status: 400, provider: 'unknown' });
});

test('the app list is only read for a verified push', (t) => {
  let reads = 0;
  const apps = () => {
    reads++;
    return [];
  };
  decide(deliveries.github(), { ...SECRETS, github: 'wrong' }, apps);
  decide(githubPing(SECRETS.github!), SECRETS, apps);
  t.is(reads, 0);
  decide(deliveries.github(), SECRETS, apps);
  t.is(reads, 1);
});
