import test from 'ava';
import {
  applicationMatchesPush,
  filesTouchPaths,
  findApplicationsToRefresh,
  refreshPaths,
  revisionMatches,
} from '../../src/webhook/match.js';
import type { ApplicationLike, ApplicationSourceLike, PushEvent } from '../../src/webhook/types.js';

const GUESTBOOK = 'https://github.com/acme/guestbook';

function push(overrides: Partial<PushEvent> = {}): PushEvent {
  return {
    provider: 'github',
    repoURLs: [GUESTBOOK, `${GUESTBOOK}.git`, 'git@github.com:acme/guestbook.git'],
    revision: 'main',
    isTag: false,
    defaultBranch: 'main',
    changedFiles: ['apps/guestbook/deployment.yaml'],
    ...overrides,
  };
}

function app(name: string, source: ApplicationSourceLike | ApplicationSourceLike[], annotations?: Record<string, string>): ApplicationLike {
  const spec = Array.isArray(source) ? { sources: source } : { source };
  return { metadata: { name, namespace: 'argocd', annotations }, spec };
}

test('every URL form of the pushed repository matches', (t) => {
  const forms = [
    'https://github.com/acme/guestbook.git',
    'https://github.com/acme/guestbook',
    'https://github.com/acme/guestbook/',
    'https://GITHUB.com/Acme/GuestBook',
    'ssh://git@github.com/acme/guestbook.git',
    'ssh://git@github.com:22/acme/guestbook',
    'git@github.com:acme/guestbook.git',
    'git@github.com:acme/guestbook',
    'https://ci-bot@github.com/acme/guestbook.git',
  ];
  for (const repoURL of forms) {
    t.true(applicationMatchesPush(app('a', { repoURL, targetRevision: 'main' }), push({ repoURLs: [GUESTBOOK] })), repoURL);
  }
  t.false(applicationMatchesPush(app('a', { repoURL: 'https://github.com/acme/guestbook-config', targetRevision: 'main' }), push()));
  t.false(applicationMatchesPush(app('a', { repoURL: 'https://gitlab.com/acme/guestbook', targetRevision: 'main' }), push()));
});

test('HEAD and an empty targetRevision follow the default branch', (t) => {
  for (const targetRevision of ['HEAD', '', undefined]) {
    const a = app('a', { repoURL: GUESTBOOK, targetRevision });
    t.true(applicationMatchesPush(a, push({ revision: 'main', defaultBranch: 'main' })), `${targetRevision} / main`);
    t.false(applicationMatchesPush(a, push({ revision: 'develop', defaultBranch: 'main' })), `${targetRevision} / develop`);
    t.false(applicationMatchesPush(a, push({ revision: 'main', isTag: true, defaultBranch: 'main' })), `${targetRevision} / tag main`);
  }
});

test('HEAD follows any branch when the payload does not name the default branch (Bitbucket)', (t) => {
  t.true(revisionMatches('HEAD', { revision: 'develop', isTag: false, defaultBranch: undefined }));
  t.false(revisionMatches('HEAD', { revision: 'v1', isTag: true, defaultBranch: undefined }));
});

test('branch targets: plain name and refs/heads/ form', (t) => {
  t.true(revisionMatches('release/1.x', { revision: 'release/1.x', isTag: false }));
  t.true(revisionMatches('refs/heads/release/1.x', { revision: 'release/1.x', isTag: false }));
  t.false(revisionMatches('refs/heads/release/1.x', { revision: 'release/1.x', isTag: true }));
  t.false(revisionMatches('main', { revision: 'Main', isTag: false }), 'ref names are case-sensitive');
  t.false(revisionMatches('main', { revision: 'main2', isTag: false }));
});

test('tag targets: plain name and refs/tags/ form; a branch push of the same name only matches the plain form', (t) => {
  t.true(revisionMatches('v1.2.0', { revision: 'v1.2.0', isTag: true }));
  t.true(revisionMatches('refs/tags/v1.2.0', { revision: 'v1.2.0', isTag: true }));
  t.false(revisionMatches('refs/tags/v1.2.0', { revision: 'v1.2.0', isTag: false }));
  t.false(revisionMatches('v1.2.0', { revision: 'v1.2.1', isTag: true }));
});

test('a commit SHA never matches a branch push, not even one whose new head is that commit', (t) => {
  const commit = '9f1c2ab3e4d5f60718293a4b5c6d7e8f90a1b2c3';
  const a = app('pinned', { repoURL: GUESTBOOK, targetRevision: commit });
  t.false(applicationMatchesPush(a, push({ revision: 'main', after: commit })));
});

test('multi-source apps match through any of their sources; Helm repository charts never match', (t) => {
  const multi = app('multi', [
    { repoURL: 'https://charts.example.com', chart: 'redis', targetRevision: 'main' },
    { repoURL: 'https://github.com/acme/other', targetRevision: 'main' },
    { repoURL: 'git@github.com:acme/guestbook.git', targetRevision: 'HEAD', path: 'apps/guestbook' },
  ]);
  t.true(applicationMatchesPush(multi, push()));
  const refOnly = app('values-only', [
    { repoURL: 'https://charts.example.com', chart: 'guestbook', targetRevision: '1.0.0' },
    { repoURL: GUESTBOOK, targetRevision: 'main', ref: 'values' } as ApplicationSourceLike,
  ]);
  t.true(applicationMatchesPush(refOnly, push()), 'a $values ref source counts');
  const chartFromSameHost = app('chart', { repoURL: GUESTBOOK, chart: 'guestbook', targetRevision: 'main' });
  t.false(applicationMatchesPush(chartFromSameHost, push()));
  const both = { metadata: { name: 'both', namespace: 'argocd' }, spec: { source: { repoURL: 'https://github.com/acme/x', targetRevision: 'main' }, sources: [{ repoURL: GUESTBOOK, targetRevision: 'main' }] } };
  t.true(applicationMatchesPush(both, push()));
});

test('manifest-generate-paths: relative to the source path, absolute to the repo root, "." the source path itself', (t) => {
  t.deepEqual(refreshPaths('.', 'apps/guestbook'), ['apps/guestbook']);
  t.deepEqual(refreshPaths('./', 'apps/guestbook/'), ['apps/guestbook']);
  t.deepEqual(refreshPaths('../common; /charts/base ;;', 'apps/guestbook'), ['apps/common', 'charts/base']);
  t.deepEqual(refreshPaths('values', ''), ['values']);
  t.deepEqual(refreshPaths('.', undefined), ['']);
  t.deepEqual(refreshPaths('/', 'apps/guestbook'), ['']);
  t.deepEqual(refreshPaths(';', 'x'), []);
});

test('filesTouchPaths: under, equal, glob, root; no paths or no file list cannot rule an app out', (t) => {
  t.true(filesTouchPaths(['apps/guestbook'], ['apps/guestbook/deploy.yaml']));
  t.true(filesTouchPaths(['apps/guestbook'], ['/apps/guestbook/deep/er/x.yaml']));
  t.true(filesTouchPaths(['apps/guestbook/values.yaml'], ['apps/guestbook/values.yaml']));
  t.false(filesTouchPaths(['apps/guestbook'], ['apps/guestbook-v2/deploy.yaml']), 'a sibling with the same prefix is not under it');
  t.false(filesTouchPaths(['apps/guestbook'], ['apps/other/a.yaml', 'README.md']));
  t.true(filesTouchPaths(['apps/*/values.yaml'], ['apps/guestbook/values.yaml']));
  t.false(filesTouchPaths(['apps/*/values.yaml'], ['apps/guestbook/sub/values.yaml']));
  t.true(filesTouchPaths([''], ['anything.txt']));
  t.true(filesTouchPaths([], ['anything.txt']));
  t.true(filesTouchPaths(['apps/guestbook'], undefined));
  t.true(filesTouchPaths(['apps/guestbook'], []));
});

test('paths filtering decides per matching source', (t) => {
  const annotated = (value: string, path = 'apps/guestbook') =>
    app('a', { repoURL: GUESTBOOK, targetRevision: 'main', path }, { 'argocd.argoproj.io/manifest-generate-paths': value });
  t.true(applicationMatchesPush(annotated('.'), push({ changedFiles: ['apps/guestbook/deployment.yaml'] })));
  t.false(applicationMatchesPush(annotated('.'), push({ changedFiles: ['apps/other/deployment.yaml', 'docs/README.md'] })));
  t.true(applicationMatchesPush(annotated('/shared'), push({ changedFiles: ['shared/labels.yaml'] })));
  t.false(applicationMatchesPush(annotated('/shared'), push({ changedFiles: ['apps/guestbook/deployment.yaml'] })));
  t.true(applicationMatchesPush(annotated('../common'), push({ changedFiles: ['apps/common/base.yaml'] })));
  t.true(applicationMatchesPush(annotated('.;/shared'), push({ changedFiles: ['shared/x.yaml'] })));
  t.true(applicationMatchesPush(annotated('.'), push({ changedFiles: undefined })), 'no file list (Bitbucket) refreshes');
  t.true(applicationMatchesPush(annotated(''), push({ changedFiles: ['elsewhere.txt'] })), 'an empty annotation filters nothing');

  const twoSources = {
    metadata: { name: 'two', namespace: 'argocd', annotations: { 'argocd.argoproj.io/manifest-generate-paths': '.' } },
    spec: {
      sources: [
        { repoURL: 'https://github.com/acme/other', targetRevision: 'main', path: 'apps/guestbook' },
        { repoURL: GUESTBOOK, targetRevision: 'main', path: 'envs/prod' },
      ],
    },
  };
  t.false(applicationMatchesPush(twoSources, push({ changedFiles: ['apps/guestbook/x.yaml'] })), 'the other repo’s source path does not count');
  t.true(applicationMatchesPush(twoSources, push({ changedFiles: ['envs/prod/x.yaml'] })));
});

test('findApplicationsToRefresh returns each matching app once, in order, and skips nameless or odd objects', (t) => {
  const apps: ApplicationLike[] = [
    app('one', { repoURL: GUESTBOOK, targetRevision: 'main' }),
    app('two', [{ repoURL: GUESTBOOK, targetRevision: 'main' }, { repoURL: `${GUESTBOOK}.git`, targetRevision: 'HEAD' }]),
    app('other-branch', { repoURL: GUESTBOOK, targetRevision: 'develop' }),
    app('other-repo', { repoURL: 'https://github.com/acme/x', targetRevision: 'main' }),
    { metadata: { name: 'no-namespace' }, spec: { source: { repoURL: GUESTBOOK } } },
    { metadata: { name: 'null-spec', namespace: 'argocd' }, spec: null },
    { metadata: { name: 'weird', namespace: 'argocd' }, spec: { source: { repoURL: 42 as unknown as string }, sources: 'x' as unknown as [] } },
    { metadata: { name: 'three', namespace: 'team-a' }, spec: { source: { repoURL: 'git@github.com:acme/guestbook', targetRevision: 'refs/heads/main' } } },
  ];
  t.deepEqual(findApplicationsToRefresh([push()], apps), [
    { namespace: 'argocd', name: 'one' },
    { namespace: 'argocd', name: 'two' },
    { namespace: 'team-a', name: 'three' },
  ]);
  t.deepEqual(findApplicationsToRefresh([push({ revision: 'develop' }), push()], apps).map((a) => a.name), ['one', 'two', 'other-branch', 'three']);
  t.deepEqual(findApplicationsToRefresh([push({ repoURLs: ['not a url'] })], apps), []);
  t.deepEqual(findApplicationsToRefresh([], apps), []);
});
