// herald template notify and herald trigger run, offline: manifests from -f files,
// KUBECONFIG unset and HOME an empty directory (runHerald's default), the binary run
// as a subprocess. Sending goes to the local DingTalk robot.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildApp, REVISIONS, type AppOptions } from '../support/fixtures/apps.js';
import { startDingTalkRobot } from '../support/dingtalk-robot.js';
import { runHerald } from '../support/herald-cli.js';

const SAMPLES = 'config/samples';
const GUESTBOOK = 'test/fixtures/cli/guestbook.yaml';

function tempFile(name: string, objects: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  const path = join(dir, name);
  writeFileSync(path, objects.map((o) => stringify(o)).join('---\n'));
  return path;
}

const appFile = (options: AppOptions) => tempFile('app.yaml', [buildApp({ name: 'guestbook', namespace: 'argocd', ...options })]);

/** The JSON body printed after the request line and header. */
function printedBody(stdout: string): unknown {
  const start = stdout.indexOf('\n{');
  const end = stdout.indexOf('\n}\n', start);
  return JSON.parse(stdout.slice(start + 1, end + 2));
}

test('template notify --stdout offline: the exact DingTalk body, rendered by the engine, without any cluster', async (t) => {
  const result = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '-f', SAMPLES, '-f', GUESTBOOK, '--argocd-url', 'https://cd.example.com/']);
  t.is(result.code, 0, result.output);
  const lines = result.stdout.split('\n');
  t.is(lines[0], `# NotificationTemplate argocd/app-sync-change for Application argocd/guestbook (trigger template-notify; files ${SAMPLES}, ${GUESTBOOK})`);
  t.is(lines[1], 'POST <the channel robot webhook URL>');
  t.is(lines[2], 'Content-Type: application/json; charset=utf-8');
  const body = printedBody(result.stdout) as { msgtype: string; markdown: { title: string; text: string } };
  t.is(body.msgtype, 'markdown');
  t.is(body.markdown.title, 'ArgoCD同步状态: guestbook Succeeded/Healthy');
  t.true(body.markdown.text.includes('- 发起人 (Initiator): alice'), body.markdown.text);
  t.true(body.markdown.text.includes('- 开始时间 (Started): 2024-05-01 16:00:00 (北京时间)'), body.markdown.text);
  t.true(body.markdown.text.includes('(https://cd.example.com/applications/argocd/guestbook)'), body.markdown.text);
  t.true(body.markdown.text.includes('**template-notify**'), 'trigger defaults to template-notify');

  const named = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '--trigger', 'on-deployed', '-f', SAMPLES, '-f', GUESTBOOK]);
  t.true((printedBody(named.stdout) as { markdown: { text: string } }).markdown.text.includes('**🚀 已部署 (同步成功且健康)**'));
});

test('template notify --channel offline: reads the Secret from the files, signs, sends through the real sender, prints the answer; no token or secret in the output', async (t) => {
  const token = `tok${randomBytes(12).toString('hex')}`;
  const secret = `SEC${randomBytes(24).toString('hex')}`;
  const robot = await startDingTalkRobot({ robots: [{ token, secret, keywords: ['ArgoCD'] }] });
  t.teardown(() => robot.close());
  // A later file wins over the placeholder Secret in config/samples.
  const secretFile = tempFile('secret.yaml', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dingtalk-ops-robot' }, stringData: { url: robot.webhookUrl(token), secret } }]);
  const result = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--channel', 'dingtalk-ops', '-f', SAMPLES, '-f', GUESTBOOK, '-f', secretFile]);
  t.is(result.code, 0, result.output);
  t.regex(result.stdout, new RegExp(`^POST http://127\\.0\\.0\\.1:${robot.port}/robot/send\\?access_token=\\*\\*\\*&timestamp=\\d+&sign=\\*\\*\\*$`, 'm'));
  t.regex(result.stdout, /^DingTalk answered: errcode 0, errmsg "ok"$/m);
  t.false(result.output.includes(token), 'the access token is never printed');
  t.false(result.output.includes(secret), 'the signing secret is never printed');
  const [received] = await robot.waitForAccepted(1);
  t.deepEqual(received!.json, printedBody(result.stdout), 'the robot received exactly the printed body');
  t.truthy(received!.query.sign);

  // --stdout with --channel: the channel's URL (masked) and checks, nothing sent.
  const dry = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--channel', 'dingtalk-ops', '--stdout', '-f', SAMPLES, '-f', GUESTBOOK, '-f', secretFile]);
  t.is(dry.code, 0, dry.output);
  t.regex(dry.stdout, /access_token=\*\*\*/);
  t.notRegex(dry.stdout, /DingTalk answered/);
  t.is(robot.requests.length, 1, 'a dry run sends nothing');
});

test('template notify --channel: a refused message exits 1 with DingTalk\'s errcode and the reason; a missing keyword is refused before sending', async (t) => {
  const token = `tok${randomBytes(12).toString('hex')}`;
  const robot = await startDingTalkRobot({ robots: [{ token }] });
  t.teardown(() => robot.close());
  const channels = tempFile('channels.yaml', [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'robots' }, stringData: { good: robot.webhookUrl(token), gone: robot.webhookUrl('not-a-robot-token') } },
    { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { name: 'gone' }, spec: { webhook: { urlSecretRef: { name: 'robots', key: 'gone' } } } },
    { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { name: 'strict' }, spec: { webhook: { urlSecretRef: { name: 'robots', key: 'good' } }, keywords: ['告警'] } },
    { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'DingTalkChannel', metadata: { name: 'no-secret' }, spec: { webhook: { urlSecretRef: { name: 'absent', key: 'url' } } } },
  ]);
  const args = (channel: string) => ['template', 'notify', 'app-sync-change', 'guestbook', '--channel', channel, '-f', SAMPLES, '-f', GUESTBOOK, '-f', channels];

  const gone = await runHerald(args('gone'));
  t.is(gone.code, 1, gone.output);
  t.regex(gone.stdout, /^DingTalk answered: errcode 300001$/m);
  t.regex(gone.stderr, /herald: not delivered: DingTalk errcode 300001: token is not exist \(the webhook URL's access token names no robot\)/);
  t.false(gone.output.includes('not-a-robot-token'));

  const strict = await runHerald(args('strict'));
  t.is(strict.code, 1, strict.output);
  t.regex(strict.stderr, /herald: not sent: none of the robot's keywords \("告警"\) appears in the markdown message/);
  t.is(robot.requests.filter((r) => r.token === token).length, 0, 'nothing was sent to the keyword robot');

  const noSecret = await runHerald(args('no-secret'));
  t.is(noSecret.code, 1);
  t.regex(noSecret.stderr, /^herald: DingTalkChannel argocd\/no-secret: spec\.webhook\.urlSecretRef: Secret argocd\/absent not found$/m);
});

test('trigger run offline: each condition with its result, the oncePer value and the verdict per routed channel', async (t) => {
  const result = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '-f', SAMPLES, '-f', GUESTBOOK, '--now', '2024-05-01T08:01:00Z']);
  t.is(result.code, 0, result.output);
  const expected = [
    'NotificationTrigger argocd/on-sync-succeeded: A sync operation succeeded. Fires once per synced revision.',
    'Application argocd/guestbook: sync Synced, health Healthy, operation Succeeded',
    `Evaluated at 2024-05-01T08:01:00.000Z (files ${SAMPLES}, ${GUESTBOOK})`,
    '',
    'conditions[0] default: fired',
    "  when:    app.status.operationState.phase == 'Succeeded'",
    "  oncePer: has(app.status.operationState.syncResult.revision) ? app.status.operationState.syncResult.revision : app.status.operationState.syncResult.revisions.join(',')",
    `  oncePer value: "${REVISIONS.first}"`,
    '  send:    app-sync-change',
    '  channel argocd/dingtalk-ops: would send app-sync-change',
  ];
  t.deepEqual(result.stdout.split('\n').slice(0, expected.length), expected);
  t.regex(result.stdout, new RegExp(`^    ledger key: ${REVISIONS.first}:on-sync-succeeded:default:dingtalk-ops$`, 'm'));
  t.regex(result.stdout, /^Channels \(routed\): argocd\/dingtalk-ops$/m);
  t.regex(result.stdout, /^Ledger: no entry for this trigger$/m);
});

test('trigger run offline: the ledger suppresses an occurrence already notified, the outbox one already decided', async (t) => {
  const first = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '-f', SAMPLES, '-f', GUESTBOOK]);
  const key = /ledger key: (\S+)/.exec(first.stdout)![1]!;
  const notified = appFile({ initiatedBy: 'alice', annotations: { 'herald.gitops.dev/notified': JSON.stringify({ [key]: 1714550435 }) } });
  const suppressed = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '-f', SAMPLES, '-f', notified]);
  t.is(suppressed.code, 0, suppressed.output);
  t.regex(suppressed.stdout, /^  channel argocd\/dingtalk-ops: suppressed: already notified at 2024-05-01T08:00:35Z \(in the ledger\)$/m);
  t.regex(suppressed.stdout, new RegExp(`^  ${key.replace(/\./g, '\\.')}  2024-05-01T08:00:35Z$`, 'm'));
  t.regex(suppressed.stdout, /^notified\(trigger\): 2024-05-01T08:00:35Z$/m);
  // A key an older herald wrote (`<index>.<hash of when>`) reads as the condition at that index.
  const legacy = appFile({ annotations: { 'herald.gitops.dev/notified': JSON.stringify({ [key.replace(':default:', ':0.0123abcd:')]: 1714550435 }) } });
  const legacySuppressed = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '-f', SAMPLES, '-f', legacy]);
  t.regex(legacySuppressed.stdout, /^  channel argocd\/dingtalk-ops: suppressed: already notified at 2024-05-01T08:00:35Z \(in the ledger\)$/m);

  const outbox = {
    [`${key}#app-sync-change`]: { channel: 'dingtalk-ops', channelNamespace: 'argocd', key, trigger: 'on-sync-succeeded', template: 'app-sync-change', body: {}, attempts: 2, next: 0, decided: 1714550436000 },
  };
  const pending = appFile({ annotations: { 'herald.gitops.dev/outbox': JSON.stringify(outbox) } });
  const waiting = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '-f', SAMPLES, '-f', pending]);
  t.regex(waiting.stdout, /^  channel argocd\/dingtalk-ops: suppressed: already decided, waiting in the outbox \(attempts 2\)$/m);

  // A condition without oncePer that no longer holds re-arms its ledger entry.
  const degradedKey = ':on-health-degraded:default:';
  const rearm = await runHerald(['trigger', 'run', 'on-health-degraded', 'guestbook', '--channel', 'dingtalk-ops', '-f', SAMPLES, '-f', GUESTBOOK]);
  t.regex(rearm.stdout, /^conditions\[0\] default: not fired$/m);
  t.regex(rearm.stdout, /^  oncePer: \(none: sends once while the condition holds\)$/m);
  t.regex(rearm.stdout, /^Channels \(given with --channel\): argocd\/dingtalk-ops$/m);
  const ledgerKey = /ledger key: (\S+)/.exec(rearm.stdout)![1]!;
  t.true(ledgerKey.startsWith(degradedKey));
  const wasDegraded = appFile({ annotations: { 'herald.gitops.dev/notified': JSON.stringify({ [ledgerKey]: 1714550000 }) } });
  const rearmed = await runHerald(['trigger', 'run', 'on-health-degraded', 'guestbook', '--channel', 'dingtalk-ops', '-f', SAMPLES, '-f', wasDegraded]);
  t.regex(rearmed.stdout, /^  channel argocd\/dingtalk-ops: not sending; the ledger entry is removed, so it sends again the next time the condition holds$/m);
});

test('template notify: a template that fails to render for this Application exits 1 naming the template and field', async (t) => {
  const broken = tempFile('template.yaml', [
    { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTemplate', metadata: { name: 'bad-render' }, spec: { dingtalk: { title: 'ArgoCD', text: '{{ app.metadata.name() }}' } } },
  ]);
  const result = await runHerald(['template', 'notify', 'bad-render', 'guestbook', '--stdout', '-f', GUESTBOOK, '-f', broken]);
  t.is(result.code, 1, result.output);
  t.regex(result.stderr, /^herald: NotificationTemplate argocd\/bad-render does not render for this Application: dingtalk\.text: Unable to call `app\["metadata"\]\["name"\]`, which is not a function$/m);
});

test('template notify renders under the controller\'s budgets: output past the cap and a render past the deadline exit 1 with the budget', async (t) => {
  const hostile = tempFile('template.yaml', [
    { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTemplate', metadata: { name: 'wide' }, spec: { message: '{{ "x" | indent(1000000000) }}' } },
    { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTemplate', metadata: { name: 'slow' }, spec: { message: '{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}' } },
  ]);
  const wide = await runHerald(['template', 'notify', 'wide', 'guestbook', '--stdout', '-f', GUESTBOOK, '-f', hostile, '--template-max-output-bytes', '2048']);
  t.is(wide.code, 1, wide.output);
  t.regex(wide.stderr, /^herald: NotificationTemplate argocd\/wide does not render for this Application: RenderOutputLimit: message: the rendered text passed 2048 bytes and was stopped \(--template-max-output-bytes\)$/m);
  const slow = await runHerald(['template', 'notify', 'slow', 'guestbook', '--stdout', '-f', GUESTBOOK, '-f', hostile], { env: { HERALD_TEMPLATE_RENDER_TIMEOUT: '300' } });
  t.is(slow.code, 1, slow.output);
  t.regex(slow.stderr, /^herald: NotificationTemplate argocd\/slow does not render for this Application: RenderTimeLimit: rendering took longer than 300 ms and was stopped \(--template-render-timeout\)$/m);
});

test('trigger run offline: a missing field is "not fired (missing field)", an evaluation error exits 1 with the message', async (t) => {
  const neverSynced = appFile({ phase: null });
  const missing = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '-f', SAMPLES, '-f', neverSynced]);
  t.is(missing.code, 0, missing.output);
  t.regex(missing.stdout, /^conditions\[0\] default: not fired \(missing field\): when: operationState$/m);
  t.regex(missing.stdout, /^  oncePer value: \(not evaluated: the condition did not fire\)$/m);
  t.regex(missing.stdout, /^  channel argocd\/dingtalk-ops: nothing to send$/m);

  const failing = tempFile('trigger.yaml', [
    { apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTrigger', metadata: { name: 'on-bad-time' }, spec: { conditions: [{ when: "timestamp(app.metadata.name) < now()", send: ['app-sync-change'] }] } },
  ]);
  const error = await runHerald(['trigger', 'run', 'on-bad-time', 'guestbook', '--channel', 'dingtalk-ops', '-f', SAMPLES, '-f', GUESTBOOK, '-f', failing]);
  t.is(error.code, 1, error.output);
  t.regex(error.stdout, /^conditions\[0\] default: error: when: .+/m);
});

test('not found and no cluster are clear errors (exit 1)', async (t) => {
  const noApp = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'nope', '-f', SAMPLES, '-f', GUESTBOOK]);
  t.is(noApp.code, 1);
  t.regex(noApp.stderr, /^herald: Application argocd\/nope not found \(files /m);
  const noTrigger = await runHerald(['trigger', 'run', 'on-nothing', 'guestbook', '-f', SAMPLES, '-f', GUESTBOOK]);
  t.is(noTrigger.code, 1);
  t.regex(noTrigger.stderr, /^herald: no NotificationTrigger "on-nothing" in namespace argocd \(files /m);
  const noTemplate = await runHerald(['template', 'notify', 'nothing', 'guestbook', '--stdout', '-f', SAMPLES, '-f', GUESTBOOK, '-n', 'argocd']);
  t.is(noTemplate.code, 1);
  t.regex(noTemplate.stderr, /^herald: no NotificationTemplate "nothing" in namespace argocd/m);

  const noCluster = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout']);
  t.is(noCluster.code, 1);
  t.regex(noCluster.stderr, /^herald: no cluster configured: pass --kubeconfig PATH or set KUBECONFIG, or read manifests offline with -f FILE\|DIR$/m);
  const badKubeconfig = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '--kubeconfig', '/no/such/kubeconfig']);
  t.is(badKubeconfig.code, 1);
  t.regex(badKubeconfig.stderr, /--kubeconfig \/no\/such\/kubeconfig: no such file/);

  const unreachable = tempFile('kubeconfig.yaml', [
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { token: 'made-up' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    },
  ]);
  const refused = await runHerald(['trigger', 'run', 'on-sync-succeeded', 'guestbook', '--kubeconfig', unreachable]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^herald: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1 to read Application argocd\/guestbook: ECONNREFUSED$/m);

});

test('usage errors exit 2 with the reason and no stack trace', async (t) => {
  for (const [args, message] of [
    [['template', 'notify', 'app-sync-change'], /missing argument APP/],
    [['template', 'notify', 'app-sync-change', 'guestbook', '-f', SAMPLES], /--channel NAME to send it, or --stdout to only print it/],
    [['template', 'render', 'x', 'y'], /unknown subcommand "template render"/],
    [['trigger', 'run', 'a', 'b', 'c'], /unexpected argument "c"/],
    [['trigger', 'run', 'a', 'b', '--frobnicate'], /unknown flag --frobnicate/],
    [['trigger', 'run', 'a', 'b', '--now', 'yesterday'], /--now must be an RFC 3339 time/],
    [['template', 'notify', 'a', 'b', '--stdout', '--context', 'novalue'], /--context needs key=value/],
    [['trigger', 'run', 'a', 'b', '-f'], /flag -f, --filename needs a value/],
    [['trigger', 'run', 'a', 'b', '-f', SAMPLES, '--kubeconfig', '/x'], /give either -f or --kubeconfig, not both/],
  ] as const) {
    const result = await runHerald([...args]);
    t.is(result.code, 2, `${args.join(' ')}: ${result.output}`);
    t.regex(result.stderr, message, args.join(' '));
    t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
  }

});

test('--help on every command and subcommand exits 0', async (t) => {
  for (const args of [['--help'], ['template', '--help'], ['template', 'notify', '--help'], ['trigger', '--help'], ['trigger', 'run', '-h'], ['check', '--help'], ['import', '--help'], ['controller', '--help']]) {
    const result = await runHerald(args);
    t.is(result.code, 0, args.join(' '));
    t.regex(result.stdout, /Usage: herald/, args.join(' '));
  }
});

test('template notify -f: the context ConfigMap among the files sets context.*; --argocd-url overrides it; --explain says where each value came from; an invalid one is a note', async (t) => {
  const context = tempFile('context.yaml', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'herald-context', namespace: 'argocd' }, data: { argocdUrl: 'https://cd.mycorp.com/', env: 'prod' } }]);
  const fromConfigMap = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '--explain', '-f', SAMPLES, '-f', GUESTBOOK, '-f', context]);
  t.is(fromConfigMap.code, 0, fromConfigMap.output);
  t.true((printedBody(fromConfigMap.stdout) as { markdown: { text: string } }).markdown.text.includes('(https://cd.mycorp.com/applications/argocd/guestbook)'));
  t.regex(fromConfigMap.stdout, /^# context\.argocdUrl = "https:\/\/cd\.mycorp\.com" \(ConfigMap argocd\/herald-context\)$/m);
  t.regex(fromConfigMap.stdout, /^# context\.env = "prod" \(ConfigMap argocd\/herald-context\)$/m);

  const overridden = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '--explain', '--argocd-url', 'https://other.example.com', '--context', 'env=dev', '-f', SAMPLES, '-f', GUESTBOOK, '-f', context]);
  t.true((printedBody(overridden.stdout) as { markdown: { text: string } }).markdown.text.includes('(https://other.example.com/applications/argocd/guestbook)'));
  t.regex(overridden.stdout, /^# context\.argocdUrl = "https:\/\/other\.example\.com" \(--argocd-url\)$/m);
  t.regex(overridden.stdout, /^# context\.env = "dev" \(--context\)$/m);

  const ignored = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '--explain', '--context-configmap', '', '-f', SAMPLES, '-f', GUESTBOOK, '-f', context]);
  t.regex(ignored.stdout, /^# context\.argocdUrl = "https:\/\/argocd\.example\.com" \(default\)$/m);

  const bad = tempFile('context.yaml', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'herald-context', namespace: 'argocd' }, data: { argocdURL: 'https://cd.mycorp.com' } }]);
  const invalid = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '-f', SAMPLES, '-f', GUESTBOOK, '-f', bad]);
  t.is(invalid.code, 0, invalid.output);
  t.regex(invalid.stderr, /^note: ConfigMap argocd\/herald-context is not a valid notification context: unknown key "argocdURL" \(did you mean argocdUrl\?\); the controller keeps its last valid version, this command uses flags and defaults$/m);

  const usage = await runHerald(['template', 'notify', 'app-sync-change', 'guestbook', '--stdout', '--argocd-url', 'cd.mycorp.com', '-f', SAMPLES, '-f', GUESTBOOK]);
  t.is(usage.code, 2, usage.output);
  t.regex(usage.stderr, /--argocd-url: argocdUrl "cd\.mycorp\.com" is not an absolute URL/);
});
