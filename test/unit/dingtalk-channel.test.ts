// The channel factory: from a DingTalkChannel spec and its Secrets (read through the
// reader, in the channel's namespace only) to a robot, or a located problem.
import test from 'ava';
import type { SecretData } from '../../src/channels/channel.js';
import { DingTalkRobot, dingTalkChannel } from '../../src/channels/dingtalk/index.js';
import { channelTypes, resolveChannel } from '../../src/channels/registry.js';
import { maskSecrets } from '../../src/secrets.js';

const NAMESPACE = 'team-a';
const ROBOT_URL = 'https://oapi.dingtalk.com/robot/send?access_token=factorytoken0001';
const spec = (sign = false) => ({
  webhook: { urlSecretRef: { name: 'robot', key: 'url' }, ...(sign ? { signSecretRef: { name: 'robot-sign', key: 'sec' } } : {}) },
  keywords: ['ArgoCD'],
});

/** A reader over fixed Secrets that records which names were asked for. */
function reader(secrets: Record<string, SecretData>) {
  const asked: string[] = [];
  return {
    asked,
    read: async (name: string) => {
      asked.push(name);
      return secrets[name];
    },
  };
}

test('registry: dingtalk is the one known type; another type is an Unsupported problem', async (t) => {
  t.deepEqual(channelTypes(), ['dingtalk']);
  const { read } = reader({ robot: { url: ROBOT_URL } });
  const dingtalk = await resolveChannel('dingtalk', { namespace: NAMESPACE, spec: spec(), readSecret: read });
  t.true(dingtalk.ok);
  if (dingtalk.ok) t.is(dingtalk.channel.type, 'dingtalk');
  const slack = await resolveChannel('slack', { namespace: NAMESPACE, spec: {}, readSecret: read });
  t.deepEqual(slack, { ok: false, problem: { reason: 'Unsupported', message: 'channel type "slack" is not supported (known: dingtalk)' } });
});

test('the factory reads the Secrets the spec names (values trimmed) and builds the robot', async (t) => {
  const { read, asked } = reader({ robot: { url: ` ${ROBOT_URL}\n` }, 'robot-sign': { sec: 'SECfactorysigningsecret0001' } });
  const resolution = await dingTalkChannel({ namespace: NAMESPACE, spec: spec(true), readSecret: read, options: { now: () => 1_700_000_000_000 } });
  t.true(resolution.ok);
  if (!resolution.ok) return;
  t.true(resolution.channel instanceof DingTalkRobot);
  t.deepEqual(asked, ['robot', 'robot-sign']);
  t.is(resolution.channel.displayUrl(), 'https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=1700000000000&sign=***');
  // The robot knows the channel's keywords.
  t.regex(resolution.channel.prepare({ rendered: { message: 'deployed' } }).missingKeyword ?? '', /"ArgoCD"/);
  // Values read are registered as secrets as soon as they are read.
  t.is(maskSecrets('x SECfactorysigningsecret0001 y'), 'x *** y');
});

test('problems name the field and the Secret, never a value', async (t) => {
  const cases: Array<[Record<string, SecretData>, boolean, { reason: string; message: string; field?: string }]> = [
    [{}, false, { reason: 'SecretNotFound', field: 'spec.webhook.urlSecretRef', message: 'spec.webhook.urlSecretRef: Secret team-a/robot not found' }],
    [
      { robot: { other: 'x' } },
      false,
      { reason: 'InvalidSecret', field: 'spec.webhook.urlSecretRef', message: 'spec.webhook.urlSecretRef: Secret team-a/robot has no (or an empty) key "url"' },
    ],
    [
      { robot: { url: '  ' } },
      false,
      { reason: 'InvalidSecret', field: 'spec.webhook.urlSecretRef', message: 'spec.webhook.urlSecretRef: Secret team-a/robot has no (or an empty) key "url"' },
    ],
    [
      { robot: { url: ROBOT_URL } },
      true,
      { reason: 'SecretNotFound', field: 'spec.webhook.signSecretRef', message: 'spec.webhook.signSecretRef: Secret team-a/robot-sign not found' },
    ],
    [
      { robot: { url: 'just-a-token-value-123' } },
      false,
      { reason: 'InvalidWebhookURL', message: 'the webhook URL Secret value is not a URL; expected https://oapi.dingtalk.com/robot/send?access_token=***' },
    ],
    [{ robot: { url: 'ftp://robot.example/x?access_token=ftptoken0001' } }, false, { reason: 'InvalidWebhookURL', message: 'the webhook URL must be http(s), not ftp' }],
  ];
  for (const [secrets, sign, problem] of cases) {
    const resolution = await dingTalkChannel({ namespace: NAMESPACE, spec: spec(sign), readSecret: reader(secrets).read });
    t.deepEqual(resolution, { ok: false, problem }, JSON.stringify(secrets));
  }
});

test('spec.app is reserved; a spec without webhook is a problem; neither reads a Secret', async (t) => {
  const { read, asked } = reader({});
  t.deepEqual(await dingTalkChannel({ namespace: NAMESPACE, spec: { app: {} }, readSecret: read }), {
    ok: false,
    problem: { reason: 'Unsupported', message: 'spec.app (enterprise internal app robot) is reserved and not implemented yet; use spec.webhook' },
  });
  t.deepEqual(await dingTalkChannel({ namespace: NAMESPACE, spec: {}, readSecret: read }), {
    ok: false,
    problem: { reason: 'InvalidSecret', message: 'spec.webhook is required' },
  });
  t.deepEqual(asked, []);
});
