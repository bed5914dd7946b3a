import test from 'ava';
import { normalizeRepoURL } from '../../src/webhook/repo-url.js';

const sameRepoURL = (a: string, b: string) => normalizeRepoURL(a) !== undefined && normalizeRepoURL(a) === normalizeRepoURL(b);
import { parseRef, parseTargetRevision } from '../../src/webhook/refs.js';

const sameRepository = [
  'https://github.com/argoproj/argocd-example-apps',
  'https://github.com/argoproj/argocd-example-apps.git',
  'https://github.com/argoproj/argocd-example-apps/',
  'https://github.com/argoproj/argocd-example-apps.git/',
  'http://github.com/argoproj/argocd-example-apps',
  'HTTPS://GitHub.com/ArgoProj/ArgoCD-Example-Apps.GIT',
  'https://user:token123@github.com/argoproj/argocd-example-apps.git',
  'https://github.com:443/argoproj/argocd-example-apps',
  'ssh://git@github.com/argoproj/argocd-example-apps.git',
  'ssh://git@github.com:22/argoproj/argocd-example-apps.git',
  'ssh://git@ssh.github.com:443/argoproj/argocd-example-apps.git',
  'git+ssh://git@github.com/argoproj/argocd-example-apps',
  'git://github.com/argoproj/argocd-example-apps.git',
  'git@github.com:argoproj/argocd-example-apps.git',
  'git@github.com:argoproj/argocd-example-apps',
  'git@github.com:/argoproj/argocd-example-apps.git',
  'github.com:argoproj/argocd-example-apps',
  'github.com/argoproj/argocd-example-apps',
  '  https://github.com/argoproj/argocd-example-apps  ',
  'https://github.com//argoproj/argocd-example-apps',
  'https://github.com/argoproj/argocd-example-apps?ref=main',
];

for (const url of sameRepository) {
  test(`normalises ${JSON.stringify(url)} to the same key`, (t) => {
    t.is(normalizeRepoURL(url), 'github.com/argoproj/argocd-example-apps');
  });
}

test('nested GitLab groups, Bitbucket Server /scm/ and ssh port 7999 keep their paths', (t) => {
  t.is(normalizeRepoURL('https://gitlab.example.com/platform/deploy/guestbook.git'), 'gitlab.example.com/platform/deploy/guestbook');
  t.is(normalizeRepoURL('git@gitlab.example.com:platform/deploy/guestbook.git'), 'gitlab.example.com/platform/deploy/guestbook');
  t.is(normalizeRepoURL('ssh://git@bitbucket.example.com:7999/proj/repo.git'), 'bitbucket.example.com/proj/repo');
  t.is(normalizeRepoURL('https://admin@bitbucket.example.com/scm/proj/repo.git'), 'bitbucket.example.com/scm/proj/repo');
  t.is(normalizeRepoURL('ssh://git@altssh.bitbucket.org:443/team/repo.git'), 'bitbucket.org/team/repo');
  t.is(normalizeRepoURL('ssh://git@[::1]:2222/org/repo.git'), '[::1]/org/repo');
  t.is(normalizeRepoURL('https://git.example.com/org/my%20repo'), 'git.example.com/org/my repo');
});

test('different repositories stay different', (t) => {
  t.false(sameRepoURL('https://github.com/acme/app', 'https://github.com/acme/app-config'));
  t.false(sameRepoURL('https://github.com/acme/app', 'https://gitlab.com/acme/app'));
  t.false(sameRepoURL('https://github.com/acme/app', 'https://github.com/other/app'));
  t.false(sameRepoURL('https://github.com/acme/app.git', 'https://github.com/acme/app.gitx'));
  t.true(sameRepoURL('git@github.com:acme/app.git', 'https://github.com/ACME/app'));
});

test('text without host or path has no key', (t) => {
  for (const bad of ['', '   ', 'https://', 'https://github.com', 'https://github.com/', 'github.com', 'git@github.com:', '/just/a/path', 'not a url']) {
    t.is(normalizeRepoURL(bad), undefined, JSON.stringify(bad));
  }
});

test('parseRef: branches, tags with slashes, bare names and other namespaces', (t) => {
  t.deepEqual(parseRef('refs/heads/main'), { name: 'main', isTag: false });
  t.deepEqual(parseRef('refs/heads/feature/login'), { name: 'feature/login', isTag: false });
  t.deepEqual(parseRef('refs/tags/v1.2.3'), { name: 'v1.2.3', isTag: true });
  t.deepEqual(parseRef('refs/tags/release/2024'), { name: 'release/2024', isTag: true });
  t.deepEqual(parseRef('main'), { name: 'main', isTag: false });
  t.is(parseRef('refs/pull/12/head'), undefined);
  t.is(parseRef('refs/merge-requests/3/head'), undefined);
  t.is(parseRef('refs/heads/'), undefined);
  t.is(parseRef(''), undefined);
});

test('parseTargetRevision: HEAD, empty, refs/heads, refs/tags and plain names', (t) => {
  t.deepEqual(parseTargetRevision('HEAD'), { kind: 'default-branch' });
  t.deepEqual(parseTargetRevision(''), { kind: 'default-branch' });
  t.deepEqual(parseTargetRevision(undefined), { kind: 'default-branch' });
  t.deepEqual(parseTargetRevision(42), { kind: 'default-branch' });
  t.deepEqual(parseTargetRevision('refs/heads/release/1.x'), { kind: 'branch', name: 'release/1.x' });
  t.deepEqual(parseTargetRevision('refs/tags/v2'), { kind: 'tag', name: 'v2' });
  t.deepEqual(parseTargetRevision(' main '), { kind: 'name', name: 'main' });
  t.deepEqual(parseTargetRevision('9f1c2ab3e4d5f60718293a4b5c6d7e8f90a1b2c3'), { kind: 'name', name: '9f1c2ab3e4d5f60718293a4b5c6d7e8f90a1b2c3' });
});
