// herald check: offline validation with located messages, through the binary and
// through the pure functions it wires together.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkManifests, formatFinding, loadKindSchemas, parseManifests, type Finding } from '../../src/manifests/index.js';
import { runHerald } from '../support/herald-cli.js';

const kinds = loadKindSchemas();

function check(text: string, file = 'in.yaml'): Finding[] {
  const { manifests, problems } = parseManifests(file, text);
  return checkManifests(manifests, problems, kinds).findings;
}

const errorsOf = (findings: Finding[]) => findings.filter((f) => f.severity === 'error').map(formatFinding);

test('config/samples pass: exit 0 with a summary line', async (t) => {
  const result = await runHerald(['check', 'config/samples/']);
  t.is(result.code, 0, result.output);
  t.regex(result.stdout, /^herald check: 11 herald resources in 3 files checked, no errors, 1 other document ignored$/m);
});

test('the broken fixtures: exit 1, each problem at its file line and field', async (t) => {
  const result = await runHerald(['check', 'test/fixtures/check/broken']);
  t.is(result.code, 1, result.output);
  const lines = result.stdout.trim().split('\n');
  const dir = 'test/fixtures/check/broken';
  // A broken trigger: the CEL error names the condition, the column and the line of that condition's when.
  t.true(lines.includes(`${dir}/trigger-bad-cel.yaml:12: NotificationTrigger/on-sync-bad: spec.conditions[1].when: column 12: unknown field 'healht' (did you mean 'health'?)`), result.stdout);
  // In a multi-line (|) expression the line is the line of the error inside it.
  t.true(lines.includes(`${dir}/trigger-bad-cel.yaml:17: NotificationTrigger/on-sync-bad: spec.conditions[2].when: column 46: unexpected end of expression`), result.stdout);
  // A broken template: the field and the file line of the template line nunjucks reports.
  t.true(lines.some((l) => l.startsWith(`${dir}/template-bad-nunjucks.yaml:15: NotificationTemplate/app-broken: spec.dingtalk.text: `) && l.includes('expected block end in if statement')), result.stdout);
  // Schema violations.
  t.true(lines.includes(`${dir}/schema-violations.yaml:9: NotificationTrigger/on-no-send: spec.conditions[0]: required field "send" is missing`), result.stdout);
  t.true(
    lines.includes(`${dir}/schema-violations.yaml:17: NotificationTemplate/app-bad-type: spec.dingtalk.msgType: unsupported value "markdwon": must be one of "markdown", "text", "link", "actionCard", "feedCard"`),
    result.stdout,
  );
  t.true(lines.includes(`${dir}/schema-violations.yaml:28: DingTalkChannel/too-many-keywords: spec.keywords: must have at most 10 items, has 11`), result.stdout);
  t.true(lines.includes(`${dir}/schema-violations.yaml:29: DingTalkChannel/too-many-keywords: spec.rateLimits: unknown field "rateLimits" (did you mean "rateLimit"?)`), result.stdout);
  t.is(lines.at(-1), 'herald check: 7 errors in 5 herald resources in 3 files');
  t.is(lines.length, 8);
});

test('x-kubernetes-validations rules are evaluated, with defaults applied first', (t) => {
  const findings = check(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTemplate
metadata: {name: no-text}
spec:
  dingtalk:
    title: only a title
---
apiVersion: herald.gitops.dev/v1alpha1
kind: DingTalkChannel
metadata: {name: both}
spec:
  app: {robotCode: x}
  webhook:
    urlSecretRef: {name: s, key: url}
  mentions:
    alice: {}
`);
  t.deepEqual(errorsOf(findings), [
    // msgType defaults to markdown, so the markdown rule applies.
    'in.yaml:5: NotificationTemplate/no-text: spec.dingtalk: a markdown message needs title and text',
    'in.yaml:11: DingTalkChannel/both: spec: set exactly one of spec.webhook (custom group robot) and spec.app (enterprise internal app robot)',
    'in.yaml:16: DingTalkChannel/both: spec.mentions.alice: a mention needs mobile or userId',
  ]);
});

test('types, patterns, lengths, set duplicates, names and bounds', (t) => {
  const findings = check(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: Bad_Name}
spec:
  conditions:
    - when: ''
      send: [Not-A-Name, ok, ok]
      oncePer: 42
---
apiVersion: herald.gitops.dev/v1alpha1
kind: DingTalkChannel
metadata: {name: c}
spec:
  webhook: {urlSecretRef: {name: s, key: url}}
  rateLimit: {perMinute: 0}
  keywords: ['']
`);
  t.deepEqual(errorsOf(findings), [
    `in.yaml:3: NotificationTrigger/Bad_Name: metadata.name: "Bad_Name" is not a valid name (lower case letters, digits, '-' and '.', at most 253 characters)`,
    'in.yaml:6: NotificationTrigger/Bad_Name: spec.conditions[0].when: must not be empty',
    'in.yaml:7: NotificationTrigger/Bad_Name: spec.conditions[0].send[2]: duplicate entry "ok" (also at [1]): this list is a set',
    'in.yaml:7: NotificationTrigger/Bad_Name: spec.conditions[0].send[0]: "Not-A-Name" does not match the pattern ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
    'in.yaml:8: NotificationTrigger/Bad_Name: spec.conditions[0].oncePer: must be a string, got an integer (42)',
    'in.yaml:15: DingTalkChannel/c: spec.rateLimit.perMinute: must be at least 1, got 0',
    'in.yaml:16: DingTalkChannel/c: spec.keywords[0]: must not be empty',
  ]);
});

test('a folded (>) expression: the error is located on the source line of its column', (t) => {
  const findings = check(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTrigger
metadata: {name: folded}
spec:
  conditions:
    - when: >-
        app.status.operationState.phase == 'Succeeded' &&
        app.status.helth.status == 'Healthy'
      send: [x]
`);
  t.deepEqual(errorsOf(findings), ["in.yaml:8: NotificationTrigger/folded: spec.conditions[0].when: column 12: unknown field 'helth' (did you mean 'health'?)"]);
});

test('JSON files, unknown herald kinds (note), other kinds (ignored), YAML syntax errors (located)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-check-'));
  writeFileSync(
    join(dir, 'trigger.json'),
    JSON.stringify({ apiVersion: 'herald.gitops.dev/v1alpha1', kind: 'NotificationTrigger', metadata: { name: 'j' }, spec: { conditions: [{ when: 'app.x', send: ['t'] }] } }, null, 2),
  );
  writeFileSync(join(dir, 'other.yaml'), 'apiVersion: herald.gitops.dev/v1alpha1\nkind: SlackChannel\nmetadata: {name: s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
  writeFileSync(join(dir, 'broken.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n');
  const result = await runHerald(['check', dir]);
  t.is(result.code, 1, result.output);
  t.regex(result.stdout, new RegExp(`${dir}/trigger\\.json:10: NotificationTrigger/j: spec\\.conditions\\[0\\]\\.when: column 5: unknown field 'x'`));
  t.regex(result.stdout, new RegExp(`${dir}/other\\.yaml:2: note: SlackChannel/s: unknown kind "SlackChannel" in herald\\.gitops\\.dev: skipped`));
  t.regex(result.stdout, new RegExp(`${dir}/broken\\.yml:\\d+: not valid YAML: `));
  t.regex(result.stdout, /herald check: 2 errors in 1 herald resource in 3 files, 1 other document ignored/);
});

test('the same resource twice is an error at the second definition', (t) => {
  const doc = 'apiVersion: herald.gitops.dev/v1alpha1\nkind: NotificationTemplate\nmetadata: {name: twice}\nspec: {message: hi}\n';
  t.deepEqual(errorsOf(check(`${doc}---\n${doc}`)), ['in.yaml:8: NotificationTemplate/twice: metadata.name: defined twice: also at in.yaml:3']);
});

test('usage: no argument is exit 2, a missing path is exit 1 with its name, --help is exit 0', async (t) => {
  const none = await runHerald(['check']);
  t.is(none.code, 2);
  t.regex(none.stderr, /missing argument FILE\|DIR/);
  const missing = await runHerald(['check', 'no/such/dir']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no\/such\/dir: no such file or directory/);
  t.notRegex(missing.stderr, /at .*\.js:\d+/, 'no stack trace');
  const help = await runHerald(['check', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Usage: herald check FILE\|DIR/);
});
