// The channel URL allow-list (src/channels/allowlist.ts): by default only
// https://oapi.dingtalk.com; --dingtalk-allowed-hosts adds hosts; http only where
// allowed explicitly. A refused channel never sends and its message never holds the token.
import test from 'ava';
import { DEFAULT_ALLOWED_HOSTS, formatAllowedHost, parseAllowedHosts, refusal } from '../../src/channels/allowlist.js';
import { classifyAnswer } from '../../src/channels/dingtalk/answer.js';
import { dingTalkChannel } from '../../src/channels/dingtalk/index.js';
import { controllerConfig } from '../../src/config.js';
import { UsageError } from '../../src/flags.js';
import { registerSecret } from '../../src/secrets.js';
import { startDingTalkRobot } from '../support/dingtalk-robot.js';

const TOKEN = 'allowlisttoken00000001';

test('by default only https://oapi.dingtalk.com (port 443) is allowed', (t) => {
  t.deepEqual(DEFAULT_ALLOWED_HOSTS.entries.map(formatAllowedHost), ['oapi.dingtalk.com']);
  t.is(refusal(new URL(`https://oapi.dingtalk.com/robot/send?access_token=${TOKEN}`), DEFAULT_ALLOWED_HOSTS), undefined);
  t.is(refusal(new URL(`https://OAPI.DingTalk.com:443/robot/send?access_token=${TOKEN}`), DEFAULT_ALLOWED_HOSTS), undefined);
  for (const url of [
    `http://127.0.0.2:8080/latest/meta-data/?access_token=${TOKEN}`,
    `https://oapi.dingtalk.com.evil.example/robot/send?access_token=${TOKEN}`,
    `https://oapi.dingtalk.com:8443/robot/send?access_token=${TOKEN}`,
    `https://127.0.0.1/robot/send?access_token=${TOKEN}`,
  ]) {
    const why = refusal(new URL(url), DEFAULT_ALLOWED_HOSTS);
    t.truthy(why, url);
    t.false(why!.includes(TOKEN), 'never the token');
    t.regex(why!, /is not on herald's allow-list \(oapi\.dingtalk\.com\); .* --dingtalk-allowed-hosts=/);
  }
  t.is(
    refusal(new URL(`http://127.0.0.2:8080/latest/meta-data/?access_token=${TOKEN}`), DEFAULT_ALLOWED_HOSTS),
    "the webhook URL's host 127.0.0.2:8080 is not on herald's allow-list (oapi.dingtalk.com); use the robot's https://oapi.dingtalk.com/robot/send?access_token=… URL, " +
      'or ask the operator admin to allow the host with the controller flag --dingtalk-allowed-hosts=http://127.0.0.2:8080',
  );
});

test('plain http is refused for a host allowed only for https, with what to do', (t) => {
  const why = refusal(new URL(`http://oapi.dingtalk.com/robot/send?access_token=${TOKEN}`), DEFAULT_ALLOWED_HOSTS);
  t.is(
    why,
    'the webhook URL uses plain http to oapi.dingtalk.com, which would send the access token unencrypted; use https, ' +
      'or ask the operator admin to allow http for this host with the controller flag --dingtalk-allowed-hosts=http://oapi.dingtalk.com',
  );
});

test('entries: host, host:port, host:*, http:// and https:// prefixes, IPv6; added to the default', (t) => {
  const list = parseAllowedHosts(['dingtalk-proxy.corp', 'proxy.corp:8443', 'http://127.0.0.1:*', 'https://Relay.Example:9443/', 'http://[::1]:8080', '']);
  t.deepEqual(list.entries.map(formatAllowedHost), [
    'oapi.dingtalk.com',
    'dingtalk-proxy.corp',
    'proxy.corp:8443',
    'http://127.0.0.1:*',
    'relay.example:9443',
    'http://[::1]:8080',
  ]);
  const allowed = (url: string) => refusal(new URL(url), list) === undefined;
  t.true(allowed('https://dingtalk-proxy.corp/robot/send'));
  t.false(allowed('https://dingtalk-proxy.corp:444/robot/send'), 'no port means the default port only');
  t.false(allowed('http://dingtalk-proxy.corp/robot/send'), 'https-only entry');
  t.true(allowed('https://proxy.corp:8443/x'));
  t.true(allowed('http://127.0.0.1:39999/robot/send'));
  t.true(allowed('https://127.0.0.1:1234/robot/send'), 'an http entry allows https to the same host');
  t.false(allowed('http://127.0.0.2:39999/robot/send'), 'another loopback address is another host');
  t.true(allowed('http://[::1]:8080/robot/send'));
  t.false(allowed('http://[::1]:8081/robot/send'));
  // The same address written differently is the same host (WHATWG URL normalisation).
  t.true(allowed('http://2130706433:80/robot/send') === allowed('http://127.0.0.1:80/robot/send'));
});

test('a bad entry is a usage error that says what is expected', (t) => {
  for (const [entry, why] of [
    ['ftp://host', /has the scheme ftp/],
    ['host/path', /must name a host, nothing more/],
    ['user@host', /must name a host, nothing more/],
    ['http://', /is not a host/],
  ] as const) {
    const error = t.throws(() => parseAllowedHosts([entry]), { instanceOf: UsageError });
    t.regex(error!.message, why, entry);
    t.regex(error!.message, /^--dingtalk-allowed-hosts: .*expected host, host:port or host:\*/);
  }
});

test('the controller flag and its environment twin, comma-separated or repeated', (t) => {
  t.deepEqual(controllerConfig([], {}).dingtalkAllowedHosts.entries.map(formatAllowedHost), ['oapi.dingtalk.com']);
  const config = controllerConfig(['--dingtalk-allowed-hosts', 'http://127.0.0.1:*,proxy.corp', '--dingtalk-allowed-hosts=relay.corp:8443'], {});
  t.deepEqual(config.dingtalkAllowedHosts.entries.map(formatAllowedHost), ['oapi.dingtalk.com', 'http://127.0.0.1:*', 'proxy.corp', 'relay.corp:8443']);
  const fromEnv = controllerConfig([], { HERALD_DINGTALK_ALLOWED_HOSTS: 'a.corp,http://b.corp:8080' });
  t.deepEqual(fromEnv.dingtalkAllowedHosts.entries.map(formatAllowedHost), ['oapi.dingtalk.com', 'a.corp', 'http://b.corp:8080']);
  t.throws(() => controllerConfig(['--dingtalk-allowed-hosts', 'gopher://x'], {}), { instanceOf: UsageError });
});

test('a channel outside the list is HostNotAllowed on spec.webhook.urlSecretRef and never sends', async (t) => {
  // A real robot on another loopback address: refused, nothing reaches it; allowed, the message does.
  const robot = await startDingTalkRobot({ host: '127.0.0.2', robots: [{ token: TOKEN }] });
  t.teardown(() => robot.close());
  const url = `http://127.0.0.2:${robot.port}/robot/send?access_token=${TOKEN}`;
  const resolution = await dingTalkChannel({
    namespace: 'team-a',
    spec: { webhook: { urlSecretRef: { name: 'robot', key: 'url' } } },
    readSecret: async () => ({ url }),
    options: { allowedHosts: DEFAULT_ALLOWED_HOSTS },
  });
  t.false(resolution.ok);
  if (resolution.ok) return;
  t.is(resolution.problem.reason, 'HostNotAllowed');
  t.is(resolution.problem.field, 'spec.webhook.urlSecretRef');
  t.regex(resolution.problem.message, /^spec\.webhook\.urlSecretRef: the webhook URL's host 127\.0\.0\.2:\d+ is not on herald's allow-list/);
  t.false(resolution.problem.message.includes(TOKEN));
  t.false(resolution.problem.message.includes(`127.0.0.2:${robot.port}/`), 'the path is not repeated either');
  t.is(robot.requests.length, 0);
  // The same URL with the host allowed builds a robot, which sends.
  const allowed = await dingTalkChannel({
    namespace: 'team-a',
    spec: { webhook: { urlSecretRef: { name: 'robot', key: 'url' } } },
    readSecret: async () => ({ url }),
    options: { allowedHosts: parseAllowedHosts([`http://127.0.0.2:${robot.port}`]) },
  });
  t.true(allowed.ok);
  if (!allowed.ok) return;
  await allowed.channel.send({ rendered: { message: 'allowed' } });
  t.is(robot.accepted().length, 1);
});

test("the robot's errmsg is kept to one bounded line and masked in the error", (t) => {
  registerSecret(TOKEN); // as the robot does when it is built
  const errmsg = `token ${TOKEN} rejected: access_token=${TOKEN}\n${'x'.repeat(100_000)}`;
  const classified = classifyAnswer(
    { status: 200, body: JSON.stringify({ errcode: 300001, errmsg }) },
    { nowMs: 0, throttledRetryMs: 600_000 },
  );
  t.is(classified.kind, 'configuration');
  if (classified.kind !== 'configuration') return;
  const message = classified.error.message;
  t.true(message.length < 400, `${message.length} characters`);
  t.false(message.includes('\n'));
  t.false(message.includes(TOKEN));
  t.regex(message, /^DingTalk errcode 300001: token \*\*\* rejected: access_token=\*\*\* x+…? \(the webhook URL's access token names no robot\)$/);
});
