// herald import: expr → CEL, Go templates → nunjucks, label selectors, and the whole
// ConfigMap conversion, checked with herald's own engine (compile, evaluate, render,
// herald check) rather than by comparing source text alone.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { NotificationTemplate, NotificationTrigger } from '../../src/api/generated.js';
import { convertNotificationsConfigMap, exprToCel, goTemplateToNunjucks, MIGRATION_SECTION, parseLabelSelector, ROBOT_URL_PLACEHOLDER } from '../../src/importer/index.js';
import { checkManifests, loadKindSchemas, parseManifests } from '../../src/manifests/index.js';
import { compileField, compileTemplate, renderField, renderTemplate, type TemplateContext } from '../../src/templates/index.js';
import { compileTrigger, evaluateTrigger } from '../../src/triggers/index.js';
import { classicMessage } from '../fixtures/import/classic-messages.js';
import { anchors } from '../support/docs/markdown.js';
import { buildApp, REVISIONS, type AppOptions } from '../support/fixtures/apps.js';
import { runHerald } from '../support/herald-cli.js';

const CLASSIC = 'test/fixtures/import/argocd-notifications-cm.yaml';
const MIXED = 'test/fixtures/import/mixed-cm.yaml';
const CLASSIC_TOKEN = '5f3c9a1e7b2d4c6f8a0e1b3d5c7f9a2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a';
const MIXED_TOKEN = '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b';

// ---------------------------------------------------------------------------
// expr → CEL

test('the catalog expressions translate to CEL', (t) => {
  const cases: Array<[string, string]> = [
    [
      "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'",
      "has(app.status.operationState) && app.status.operationState.phase in ['Succeeded'] && app.status.health.status == 'Healthy'",
    ],
    ["app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']", "has(app.status.operationState) && app.status.operationState.phase in ['Error', 'Failed']"],
    ["app.status.sync.status == 'Unknown'", "app.status.sync.status == 'Unknown'"],
    ['app.metadata.deletionTimestamp != nil', 'has(app.metadata.deletionTimestamp)'],
    ['"true"', "'true'"],
    ['true', 'true'],
    ['app.status.operationState?.syncResult?.revision', 'app.status.operationState.syncResult.revision'],
    [
      "app.status.operationState.phase in ['Running'] and time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5",
      "app.status.operationState.phase in ['Running'] && (now() - timestamp(app.status.operationState.startedAt)).getMinutes() >= 5",
    ],
    ['app.status.operationState == nil', '!(has(app.status) && has(app.status.operationState))'],
    ["not (app.spec.project in ['a', 'b']) || app.metadata.labels['env'] not in [\"dev\"]", "!(app.spec.project in ['a', 'b']) || !(app.metadata.labels['env'] in ['dev'])"],
    ["app.metadata.name matches '^guest' and app.metadata.name startsWith 'g'", "app.metadata.name.matches('^guest') && app.metadata.name.startsWith('g')"],
    ["any(app.status.conditions, {.type == 'SyncError'}) and len(app.status.resources) > 1", "app.status.conditions.exists(x0, x0.type == 'SyncError') && size(app.status.resources) > 1"],
    ["all(app.status.resources, {#.health.status == 'Healthy'})", "app.status.resources.all(x0, x0.health.status == 'Healthy')"],
    ['(app.metadata.generation + 1) * 2 > 4 ? true : false', '(app.metadata.generation + 1) * 2 > 4 ? true : false'],
  ];
  for (const [expr, cel] of cases) t.is(exprToCel(expr).cel, cel, expr);
});

test('translated conditions compile and decide like the originals', (t) => {
  const condition = (expr: string) => {
    const compiled = compileTrigger({ conditions: [{ when: exprToCel(expr).cel!, send: ['x'] }] });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    return (options: AppOptions) => evaluateTrigger(compiled.trigger, buildApp(options), new Date('2024-05-01T08:10:00Z'))[0]!.fired;
  };
  const deployed = condition("app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'");
  t.true(deployed({}));
  t.false(deployed({ phase: 'Running' }));
  t.false(deployed({ healthStatus: 'Degraded' }));
  t.false(deployed({ phase: null }), 'never synced: no operationState');
  const neverSynced = condition('app.status.operationState == nil');
  t.true(neverSynced({ phase: null }));
  t.false(neverSynced({}));
  // Started at 08:00, evaluated at 08:10.
  const runningLong = condition("app.status.operationState.phase in ['Running'] and time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5");
  t.true(runningLong({ phase: 'Running' }));
  t.false(runningLong({ phase: 'Running', startedAt: '2024-05-01T08:07:00Z' }));
});

test('what has no CEL equivalent is reported, not guessed', (t) => {
  for (const [expr, problem] of [
    ["sprig.contains(app.metadata.name, 'x')", /no CEL translation/],
    ['app.status.operationState.startedAt ?? nil', /nil outside a comparison/],
    ["myVar == 'x'", /unknown name 'myVar'/],
    ['app.spec.source.repoURL[0:4]', /slices/],
    ["app.status.sync.status == 'Unknown", /unterminated string/],
    ['app.metadata.name ==', /unexpected end/],
  ] as const) {
    const result = exprToCel(expr);
    t.is(result.cel, undefined, expr);
    t.regex(result.problem ?? '', problem, expr);
  }
});

// ---------------------------------------------------------------------------
// Go templates → nunjucks: rendered output equals what Go's text/template prints

const app = buildApp({ initiatedBy: 'alice', phase: 'Failed', operationMessage: 'one or more objects failed to apply', revision: REVISIONS.first });
const context: TemplateContext = { app: app as unknown as Record<string, unknown>, context: { argocdUrl: 'https://cd.example.com' }, trigger: 'on-sync-failed', channel: { name: 'ops', type: 'dingtalk' }, notificationType: 'dingtalk' };

function render(goTemplate: string): { text: string; problems: string[] } {
  const translated = goTemplateToNunjucks(goTemplate);
  const field = compileField('text', translated.text);
  if ('message' in field) throw new Error(`${translated.text}: ${field.message}`);
  return { text: renderField(field, context), problems: translated.problems };
}

test('Go template fields, conditionals, loops, variables and functions render as Go prints them', (t) => {
  // Each expected string is Go's output for `app` above.
  const cases: Array<[string, string]> = [
    ['{{.app.metadata.name}} in {{ .app.metadata.namespace }}', 'guestbook in argocd'],
    ['{{.context.argocdUrl}}/applications/{{.app.metadata.name}}', 'https://cd.example.com/applications/guestbook'],
    ['{{if eq .app.status.operationState.phase "Succeeded"}}ok{{else if eq .app.status.operationState.phase "Failed"}}failed{{else}}other{{end}}', 'failed'],
    ['{{if and (ne .app.status.health.status "Degraded") (not .app.spec.syncPolicy.automated)}}manual{{end}}', 'manual'],
    ['{{if .app.status.operationState.message}}\n> {{.app.status.operationState.message}}\n{{end}}\nend', '\n> one or more objects failed to apply\n\nend'],
    ['{{range .app.status.operationState.syncResult.resources}}- {{.kind}}/{{.name}}\n{{end}}', '- Service/guestbook-ui\n- Deployment/guestbook-ui\n'],
    ['{{range $i, $r := .app.status.operationState.syncResult.resources}}{{$i}}={{$r.kind}} {{end}}', '0=Service 1=Deployment '],
    ['  {{- range .app.status.summary.images }}\n  - {{ . }}\n  {{- end }}\n', '\n  - gcr.io/heptio-images/ks-guestbook-demo:0.2\n'],
    ['   {{if true}}\n  x\n   {{end}}\n', '   \n  x\n   \n'],
    ['{{with .app.status.health}}health {{.status}}{{else}}none{{end}}', 'health Healthy'],
    ['{{ $n := .app.metadata.name }}{{ range .app.status.summary.images }}{{ $n }}:{{ . }}{{ end }}', 'guestbook:gcr.io/heptio-images/ks-guestbook-demo:0.2'],
    ['{{ printf "%s/%s" .app.metadata.namespace .app.metadata.name }} {{ len .app.status.resources }} {{ index .app.metadata "name" }}', 'argocd/guestbook 2 guestbook'],
    ['{{ .app.status.sync.revision | trunc 7 }} {{ upper .app.status.health.status }}', '6f1b2c3 HEALTHY'],
    ['{{call .repo.RepoURLToHTTPS "git@github.com:argoproj/argocd-example-apps"}}', 'https://github.com/argoproj/argocd-example-apps'],
    ['{{call .strings.ReplaceAll .app.metadata.name "book" "BOOK"}} {{.serviceType}} {{.recipient}}', 'guestBOOK dingtalk ops'],
    ['a {{/* a comment */}}b {{- /* trimmed */ -}} c', 'a bc'],
    ['literal {# not a comment #} and {% raw %}', 'literal {# not a comment #} and {% raw %}'],
  ];
  for (const [go, expected] of cases) {
    const result = render(go);
    t.deepEqual(result.problems, [], go);
    t.is(result.text, expected, go);
  }
});

test('untranslatable actions are reported and kept visibly as comments', (t) => {
  const translated = goTemplateToNunjucks('by {{(call .repo.GetCommitMetadata .app.status.sync.revision).Author}} at {{ call .time.Parse .x }} {{.secrets.token}}');
  t.is(translated.problems.length, 3);
  t.regex(translated.problems[0]!, /GetCommitMetadata has no herald equivalent/);
  t.regex(translated.problems[1]!, /time.Parse has no herald equivalent/);
  t.regex(translated.problems[2]!, /never see secrets/);
  t.regex(translated.text, /\{# not converted: \{\{\(call \.repo\.GetCommitMetadata/);
  t.true(compileTemplate({ message: translated.text }).ok, 'the result still compiles');
  // A block whose opening action cannot be translated keeps the structure: its else and end become comments too.
  const nested = goTemplateToNunjucks('{{if .app.a}}A{{if call .time.Parse .x}}B{{else}}C{{end}}D{{end}}');
  t.is(nested.text, '{% if app.a %}A{# not converted: {{if call .time.Parse .x}} #}B{# not converted: {{else}} #}C{# not converted: {{end}} #}D{% endif %}');
  t.deepEqual(nested.problems, ['{{if call .time.Parse .x}}: call .time.Parse has no herald equivalent']);
  const unclosed = goTemplateToNunjucks('{{if .app.x}}open');
  t.deepEqual(unclosed.problems, ['{{if}} is never closed with {{end}}']);
  const named = goTemplateToNunjucks('{{define "x"}}a{{end}}{{template "x" .}}');
  t.deepEqual(named.problems, ['{{define}} (named templates) cannot be translated']);
});

test('label selector strings become structured selectors', (t) => {
  t.deepEqual(parseLabelSelector('env=prod, tier in (web, api),team!=infra,!legacy,owner'), {
    selector: {
      matchLabels: { env: 'prod' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['web', 'api'] },
        { key: 'team', operator: 'NotIn', values: ['infra'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'owner', operator: 'Exists' },
      ],
    },
  });
  t.deepEqual(parseLabelSelector('app.kubernetes.io/name==guestbook'), { selector: { matchLabels: { 'app.kubernetes.io/name': 'guestbook' } } });
  t.true('problem' in parseLabelSelector('env=>prod'));
});

// ---------------------------------------------------------------------------
// The whole ConfigMap

function configMapData(file: string): Record<string, string> {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as { kind: string; data: Record<string, string> });
  return docs.find((d) => d.kind === 'ConfigMap')!.data;
}

test('the classic ConfigMap converts completely into resources that pass herald check', (t) => {
  const result = convertNotificationsConfigMap(configMapData(CLASSIC), { namespace: 'argocd' });
  t.deepEqual(result.omitted, []);
  t.deepEqual(
    result.resources.map((r) => `${r.kind}/${r.name}`),
    [
      'DingTalkChannel/dingtalk',
      ...['app-deployed', 'app-health-degraded', 'app-sync-failed', 'app-sync-running', 'app-sync-status-unknown', 'app-sync-succeeded'].map((n) => `NotificationTemplate/${n}`),
      ...['on-deployed', 'on-health-degraded', 'on-sync-failed', 'on-sync-running', 'on-sync-status-unknown', 'on-sync-succeeded'].map((n) => `NotificationTrigger/${n}`),
    ],
  );
  const yaml = result.resources.flatMap((r) => r.objects).map((o) => stringify(o)).join('---\n');
  const { manifests, problems } = parseManifests('converted.yaml', yaml);
  const report = checkManifests(manifests, problems, loadKindSchemas());
  t.deepEqual(report.findings, []);
  t.is(report.checked, 13);

  const channel = result.resources[0]!.objects;
  t.deepEqual(channel[0], {
    apiVersion: 'herald.gitops.dev/v1alpha1',
    kind: 'DingTalkChannel',
    metadata: { name: 'dingtalk', namespace: 'argocd' },
    spec: {
      webhook: { urlSecretRef: { name: 'dingtalk-robot', key: 'url' } },
      subscriptions: [{ triggers: ['on-sync-running', 'on-sync-succeeded', 'on-deployed', 'on-sync-failed', 'on-health-degraded', 'on-sync-status-unknown'] }],
    },
  });
  // The robot's token stays out of the manifests: their Secret holds a placeholder.
  t.deepEqual((channel[1] as { stringData: unknown }).stringData, { url: ROBOT_URL_PLACEHOLDER });
  t.deepEqual(result.secrets, []);
  t.false(JSON.stringify(result).includes(CLASSIC_TOKEN), 'no token anywhere in the result');
  t.true(result.nextSteps.some((s) => s.includes('--argocd-url https://argocd.example.com')));
  t.true(result.nextSteps.some((s) => s.includes(`kubectl create secret generic dingtalk-robot -n argocd --from-literal=url='https://oapi.dingtalk.com/robot/send?access_token=<token>'`)));
  // With includeSecrets the real URL comes apart from the manifests, and the channel's file has no Secret.
  const withSecrets = convertNotificationsConfigMap(configMapData(CLASSIC), { namespace: 'argocd', includeSecrets: true });
  t.deepEqual(withSecrets.resources[0]!.objects, [channel[0]]);
  t.deepEqual(withSecrets.secrets, [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dingtalk-robot', namespace: 'argocd' }, type: 'Opaque', stringData: { url: `https://oapi.dingtalk.com/robot/send?access_token=${CLASSIC_TOKEN}` } },
  ]);
  t.false(JSON.stringify(withSecrets.resources).includes(CLASSIC_TOKEN));
});

test("the next steps say that herald's first start sends no old news, with the user guide's section on moving from Argo CD", (t) => {
  const result = convertNotificationsConfigMap(configMapData(CLASSIC), { namespace: 'argocd' });
  const step = result.nextSteps.find((s) => s.startsWith('First start:'));
  t.truthy(step, result.nextSteps.join('\n'));
  t.regex(step!, /records the current state of every Application instead of sending it/);
  t.regex(step!, /--on-first-sight=send/);
  t.true(step!.includes(`"${MIGRATION_SECTION.title}" in herald's user guide (${MIGRATION_SECTION.link})`));
  const [file, anchor] = MIGRATION_SECTION.link.split('#') as [string, string];
  t.true(anchors(file).has(anchor), `${file} has a section #${anchor}`);
  t.regex(readFileSync(file, 'utf8'), new RegExp(`^## ${MIGRATION_SECTION.title}$`, 'm'));
});

test('each converted template renders the message the Go template describes, as structured DingTalk fields', (t) => {
  const result = convertNotificationsConfigMap(configMapData(CLASSIC), { namespace: 'argocd' });
  const template = (name: string) => (result.resources.find((r) => r.kind === 'NotificationTemplate' && r.name === name)!.objects[0] as NotificationTemplate).spec;
  const trigger = (name: string) => (result.resources.find((r) => r.kind === 'NotificationTrigger' && r.name === name)!.objects[0] as NotificationTrigger).spec;
  const repoURL = 'https://github.com/argoproj/argocd-example-apps';
  const states: Array<[string, AppOptions]> = [
    ['on-sync-running', { phase: 'Running', initiatedBy: 'alice', repoURL }],
    ['on-sync-succeeded', { phase: 'Succeeded', initiatedBy: 'alice', repoURL }],
    ['on-deployed', { phase: 'Succeeded', healthStatus: 'Healthy', repoURL }],
    ['on-health-degraded', { healthStatus: 'Degraded', healthMessage: 'Deployment "guestbook-ui" exceeded its progress deadline', repoURL }],
    ['on-sync-failed', { phase: 'Failed', operationMessage: 'one or more objects failed to apply', repoURL }],
    ['on-sync-status-unknown', { syncStatus: 'Unknown', conditions: [{ type: 'ComparisonError', message: 'rpc error: repository not accessible' }], repoURL }],
  ];
  for (const [triggerName, options] of states) {
    const application = buildApp(options);
    const compiled = compileTrigger(trigger(triggerName));
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    t.true(evaluateTrigger(compiled.trigger, application, new Date())[0]!.fired, `${triggerName} fires`);
    const spec = template(compiled.trigger.conditions[0]!.send[0]!);
    t.is(spec.dingtalk?.msgType, 'markdown');
    const compiledTemplate = compileTemplate(spec);
    if (!compiledTemplate.ok) throw new Error(JSON.stringify(compiledTemplate.errors));
    const rendered = renderTemplate(compiledTemplate.template, {
      app: application as unknown as Record<string, unknown>,
      context: { argocdUrl: 'https://argocd.example.com' },
      trigger: triggerName,
      channel: { name: 'dingtalk', type: 'dingtalk' },
      notificationType: 'dingtalk',
    });
    t.deepEqual({ title: rendered.dingtalk?.title, text: rendered.dingtalk?.text }, classicMessage(triggerName, application, 'https://argocd.example.com'), triggerName);
  }
});

test('a ConfigMap with unconvertible parts: everything left out is reported; $secret references resolve from argocd-notifications-secret', (t) => {
  const docs = parseAllDocuments(readFileSync(MIXED, 'utf8')).map((d) => d.toJS() as { kind: string; data?: Record<string, string>; stringData?: Record<string, string> });
  const secrets = docs.find((d) => d.kind === 'Secret')!.stringData!;
  const result = convertNotificationsConfigMap(docs.find((d) => d.kind === 'ConfigMap')!.data!, { namespace: 'ops', secrets, includeSecrets: true });
  const omitted = result.omitted.join('\n');
  for (const expected of [
    /^service\.slack: herald sends to DingTalk robots only/m,
    /^service\.webhook\.github: https:\/\/api\.github\.com is not a DingTalk robot webhook/m,
    /^service\.webhook\.Ding_Ops: header X-Team: herald sends only Content-Type/m,
    /^trigger\.on-weird: \[0\]\.when: "sprig\.contains\(app\.metadata\.name, 'x'\)" cannot be translated to CEL/m,
    /^trigger\.on-weird: no condition could be converted; the trigger was not written/m,
    /^template\.app-commit: message: \{\{\(call \.repo\.GetCommitMetadata/m,
    /^template\.slack-only: slack: herald sends to DingTalk only/m,
    /^subscriptions\[0\]: recipient slack:ops: not a converted DingTalk webhook service/m,
    /^resource\.customizations: not a setting herald has an equivalent for/m,
  ]) {
    t.regex(omitted, expected);
  }
  t.is(result.omitted.length, 9, omitted);
  const channel = result.resources.find((r) => r.kind === 'DingTalkChannel')!;
  t.is(channel.name, 'ding-ops');
  t.deepEqual(result.secrets.map((secret) => secret.stringData), [{ url: `https://oapi.dingtalk.com/robot/send?access_token=${MIXED_TOKEN}` }]);
  t.deepEqual((channel.objects[0] as { spec: { subscriptions: unknown } }).spec.subscriptions, [
    {
      triggers: ['on-sync-running-long'],
      selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }, { key: 'team', operator: 'NotIn', values: ['infra'] }] },
    },
  ]);
  const commit = result.resources.find((r) => r.name === 'app-commit')!.objects[0] as NotificationTemplate;
  t.deepEqual(commit.spec.dingtalk, { msgType: 'text', text: 'ArgoCD {{ app.metadata.name }} is slow', at: { all: true } });
});

test('herald import (binary): exit 0 and manifests on stdout for the classic ConfigMap, token masked in the report', async (t) => {
  const result = await runHerald(['import', CLASSIC, '--namespace', 'team-a']);
  t.is(result.code, 0, result.stderr);
  const objects = parseAllDocuments(result.stdout).map((d) => d.toJS() as { kind: string; metadata: { namespace: string } });
  t.is(objects.length, 14);
  t.true(objects.every((o) => o.metadata.namespace === 'team-a'));
  t.regex(result.stderr, /Everything was converted\./);
  t.false(result.stderr.includes(CLASSIC_TOKEN), 'the report never shows the token');
});

test('herald import (binary): exit 3 with the report when something is left out; -o DIR writes files that pass herald check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-import-'));
  const result = await runHerald(['import', MIXED, '-o', dir]);
  t.is(result.code, 3, result.stderr);
  t.regex(result.stderr, /Not converted \(9\):/);
  t.false(result.output.includes(MIXED_TOKEN), 'the token from argocd-notifications-secret is masked');
  t.false(result.output.includes('xoxb-made-up'));
  t.deepEqual(readdirSync(dir).sort(), ['dingtalkchannel-ding-ops.yaml', 'notificationtemplate-app-commit.yaml', 'notificationtemplate-slack-only.yaml', 'notificationtrigger-on-sync-running-long.yaml']);
  const check = await runHerald(['check', dir]);
  t.is(check.code, 0, check.output);
});

/** Every file below `dir` (hidden ones too) with its text. */
function filesIn(dir: string): Map<string, string> {
  return new Map(readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

test('herald import (binary): a robot token, inline or from argocd-notifications-secret, is in no file written and never printed; the Secret holds a placeholder', async (t) => {
  for (const [fixture, token, secret] of [[CLASSIC, CLASSIC_TOKEN, 'dingtalk-robot'], [MIXED, MIXED_TOKEN, 'ding-ops-robot']] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'herald-import-'));
    const toDir = await runHerald(['import', fixture, '-o', dir]);
    t.true(toDir.code === 0 || toDir.code === 3, toDir.stderr);
    const files = filesIn(dir);
    t.true(files.size >= 4, [...files.keys()].join());
    for (const [name, text] of files) t.false(text.includes(token), `${fixture}: the token is in ${name}`);
    t.false(toDir.output.includes(token), `${fixture}: the token is printed`);
    t.true([...files.values()].some((text) => text.includes(`name: ${secret}`) && text.includes(`url: ${ROBOT_URL_PLACEHOLDER}`)), 'the Secret is written, with the placeholder');
    // The printed line fills the Secret in; only the token is left to type.
    t.regex(toDir.stderr, new RegExp(`kubectl create secret generic ${secret} -n argocd --from-literal=url='https://oapi\\.dingtalk\\.com/robot/send\\?access_token=<token>' --dry-run=client -o yaml \\| kubectl apply -f -`));
    const toStdout = await runHerald(['import', fixture]);
    t.false(toStdout.output.includes(token), `${fixture}: the token is printed with -o -`);
    t.regex(toStdout.stdout, new RegExp(`url: ${ROBOT_URL_PLACEHOLDER}`));
  }
});

test('herald import --include-secrets (binary): the real URLs only in DIR/secrets.yaml (0600, in .gitignore), with a warning on stderr', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-import-'));
  writeFileSync(join(dir, '.gitignore'), 'node_modules/');
  const result = await runHerald(['import', MIXED, '-o', dir, '--include-secrets']);
  t.is(result.code, 3, result.stderr);
  t.false(result.output.includes(MIXED_TOKEN), 'the token is never printed');
  t.regex(result.stderr, new RegExp(`Warning: ${dir}/secrets\\.yaml holds the robots' webhook URLs with their access tokens\\. Do not commit it`));
  t.notRegex(result.stderr, /holds a placeholder/);
  const files = filesIn(dir);
  t.deepEqual([...files.keys()].filter((name) => files.get(name)!.includes(MIXED_TOKEN)), ['secrets.yaml']);
  const secrets = parseAllDocuments(files.get('secrets.yaml')!).map((d) => d.toJS() as { kind: string; metadata: { name: string }; stringData: { url: string } });
  t.deepEqual(secrets.map((s) => [s.kind, s.metadata.name, s.stringData.url]), [['Secret', 'ding-ops-robot', `https://oapi.dingtalk.com/robot/send?access_token=${MIXED_TOKEN}`]]);
  t.is(statSync(join(dir, 'secrets.yaml')).mode & 0o777, 0o600);
  t.is(files.get('.gitignore'), 'node_modules/\nsecrets.yaml\n');
  t.false(files.get('dingtalkchannel-ding-ops.yaml')!.includes('kind: Secret'), "the channel's file has no placeholder Secret next to the real one");
  // Again: the .gitignore line is not repeated.
  t.is((await runHerald(['import', MIXED, '-o', dir, '--include-secrets'])).code, 3);
  t.is(readFileSync(join(dir, '.gitignore'), 'utf8'), 'node_modules/\nsecrets.yaml\n');
  // The Secrets need a file of their own: not with the manifests on stdout.
  const toStdout = await runHerald(['import', MIXED, '--include-secrets']);
  t.is(toStdout.code, 2);
  t.regex(toStdout.stderr, /--include-secrets needs -o DIR/);
  t.false(toStdout.output.includes(MIXED_TOKEN));
});

test('herald import (binary): stdin, bad input and usage errors', async (t) => {
  const fromStdin = await runHerald(['import', '-'], { input: readFileSync(CLASSIC, 'utf8') });
  t.is(fromStdin.code, 0, fromStdin.stderr);
  t.regex(fromStdin.stdout, /kind: NotificationTrigger/);
  const notConfigMap = await runHerald(['import', 'config/samples/notificationtriggers.yaml']);
  t.is(notConfigMap.code, 1);
  t.regex(notConfigMap.stderr, /no ConfigMap found \(expected argocd-notifications-cm/);
  const missing = await runHerald(['import', 'no-such-file.yaml']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /cannot read no-such-file\.yaml/);
  const usage = await runHerald(['import']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /missing argument FILE/);
  const help = await runHerald(['import', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit codes: 0 everything converted; 3 converted, but something was left out/);
});

test('a trigger with several conditions is written with a name on each (its identity in the send ledger), a lone one without', (t) => {
  const result = convertNotificationsConfigMap({
    'trigger.on-finished': "- when: app.status.operationState.phase in ['Succeeded']\n  send: [a]\n- when: app.status.operationState.phase in ['Error', 'Failed']\n  send: [a]\n",
    'trigger.on-one': "- when: app.status.health.status == 'Degraded'\n  send: [a]\n",
  }, { namespace: 'argocd' });
  const triggers = result.resources.filter((r) => r.kind === 'NotificationTrigger').map((r) => r.objects[0] as NotificationTrigger);
  const finished = triggers.find((trigger) => trigger.metadata.name === 'on-finished')!;
  t.deepEqual(finished.spec.conditions.map((c) => c.name), ['condition-0', 'condition-1']);
  t.true(compileTrigger(finished.spec).ok);
  t.false('name' in triggers.find((trigger) => trigger.metadata.name === 'on-one')!.spec.conditions[0]!);
  t.true(result.notes.some((note) => /^trigger\.on-finished: its conditions are named condition-0, condition-1 .*rename them/.test(note)), result.notes.join('\n'));
});
