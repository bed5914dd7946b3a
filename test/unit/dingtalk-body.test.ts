// The pure half of the DingTalk channel: bodies, mentions, keywords, signing, sizes, digests.
import test from 'ava';
import {
  DINGTALK_MAX_BODY_BYTES,
  buildDigestBody,
  buildDingTalkBody,
  digestItemOf,
  fitToSize,
  mergeAt,
  missingKeyword,
  signedUrl,
  type DingTalkBody,
} from '../../src/channels/dingtalk.js';
import { ChannelConfigurationError, MessageRejectedError } from '../../src/channels/errors.js';
import { channelTypes, createChannel } from '../../src/channels/registry.js';
import { robotSignature } from '../support/dingtalk-robot.js';

test('without spec.dingtalk the message is a text message from spec.message', (t) => {
  const { body, notes } = buildDingTalkBody({ message: 'ArgoCD: guestbook is Synced' });
  t.deepEqual(body, { msgtype: 'text', text: { content: 'ArgoCD: guestbook is Synced' } });
  t.deepEqual(notes, []);
});

test('msgType defaults to markdown; a missing title comes from the first line of the text', (t) => {
  const { body } = buildDingTalkBody({ dingtalk: { msgType: undefined as never, text: '### ✅ guestbook synced\n\nrevision abc' } });
  t.deepEqual(body, { msgtype: 'markdown', markdown: { title: '✅ guestbook synced', text: '### ✅ guestbook synced\n\nrevision abc' } });
});

test('text message', (t) => {
  const { body } = buildDingTalkBody({ dingtalk: { msgType: 'text', text: 'hello' }, message: 'fallback' });
  t.deepEqual(body, { msgtype: 'text', text: { content: 'hello' } });
});

test('markdown message', (t) => {
  const { body } = buildDingTalkBody({ dingtalk: { msgType: 'markdown', title: 'T', text: '**bold**' } });
  t.deepEqual(body, { msgtype: 'markdown', markdown: { title: 'T', text: '**bold**' } });
});

test('link message uses DingTalk field names messageUrl and picUrl', (t) => {
  const { body } = buildDingTalkBody({
    dingtalk: { msgType: 'link', title: 'T', text: 'x', messageURL: 'https://argo/app', picURL: 'https://img/p.png' },
  });
  t.deepEqual(body, { msgtype: 'link', link: { title: 'T', text: 'x', messageUrl: 'https://argo/app', picUrl: 'https://img/p.png' } });
});

test('actionCard with a single button', (t) => {
  const { body } = buildDingTalkBody({
    dingtalk: { msgType: 'actionCard', title: 'T', text: 'x', singleTitle: 'Open', singleURL: 'https://argo/app' },
  });
  t.deepEqual(body, { msgtype: 'actionCard', actionCard: { title: 'T', text: 'x', singleTitle: 'Open', singleURL: 'https://argo/app' } });
});

test('actionCard with buttons and orientation', (t) => {
  const { body } = buildDingTalkBody({
    dingtalk: {
      msgType: 'actionCard',
      title: 'T',
      text: 'x',
      btnOrientation: '1',
      btns: [
        { title: 'App', actionURL: 'https://argo/app' },
        { title: 'Diff', actionURL: 'https://git/diff' },
      ],
    },
  });
  t.deepEqual(body, {
    msgtype: 'actionCard',
    actionCard: {
      title: 'T',
      text: 'x',
      btnOrientation: '1',
      btns: [
        { title: 'App', actionURL: 'https://argo/app' },
        { title: 'Diff', actionURL: 'https://git/diff' },
      ],
    },
  });
});

test('feedCard message uses messageURL and picURL', (t) => {
  const { body } = buildDingTalkBody({
    dingtalk: { msgType: 'feedCard', links: [{ title: 'a', messageURL: 'https://a', picURL: 'https://a.png' }] },
  });
  t.deepEqual(body, { msgtype: 'feedCard', feedCard: { links: [{ title: 'a', messageURL: 'https://a', picURL: 'https://a.png' }] } });
});

test('missing required fields are InvalidMessage errors that name the field', (t) => {
  const cases: Array<[Parameters<typeof buildDingTalkBody>[0], RegExp]> = [
    [{}, /neither spec.dingtalk nor spec.message/],
    [{ message: '   ' }, /neither spec.dingtalk nor spec.message/],
    [{ dingtalk: { msgType: 'markdown', title: 'T' } }, /spec.dingtalk.text/],
    [{ dingtalk: { msgType: 'link', title: 'T', text: 'x' } }, /spec.dingtalk.messageURL/],
    [{ dingtalk: { msgType: 'actionCard', title: 'T', text: 'x', singleTitle: 'Open' } }, /btns or both singleTitle and singleURL/],
    [{ dingtalk: { msgType: 'actionCard', title: 'T', text: 'x', btns: [{ title: 'a', actionURL: '' }] } }, /btns\[0\]/],
    [{ dingtalk: { msgType: 'feedCard', links: [] } }, /spec.dingtalk.links is empty/],
    [{ dingtalk: { msgType: 'feedCard', links: [{ title: 'a', messageURL: 'https://a', picURL: '' }] } }, /links\[0\].*picURL/],
  ];
  for (const [rendered, pattern] of cases) {
    const error = t.throws(() => buildDingTalkBody(rendered), { instanceOf: MessageRejectedError });
    t.is(error?.reason, 'InvalidMessage');
    t.regex(error?.message ?? '', pattern);
  }
});

test('mentions: mobiles, userIds and all go into `at`, and the @ tokens into the text', (t) => {
  const { body } = buildDingTalkBody({
    dingtalk: { msgType: 'markdown', title: 'T', text: 'deployed @13800000001', at: { mobiles: ['13800000001', '13800000002', ''], userIds: ['u-7'], all: true } },
  });
  t.deepEqual(body, {
    msgtype: 'markdown',
    markdown: { title: 'T', text: 'deployed @13800000001\n\n@13800000002 @u-7' },
    at: { atMobiles: ['13800000001', '13800000002'], atUserIds: ['u-7'], isAtAll: true },
  });
});

test('mentions in a text message are appended on a new line', (t) => {
  const { body } = buildDingTalkBody({ dingtalk: { msgType: 'text', text: 'hi', at: { userIds: ['manager1'] } } });
  t.deepEqual(body, { msgtype: 'text', text: { content: 'hi\n@manager1' }, at: { atUserIds: ['manager1'] } });
});

test('at.initiator is resolved through the channel mentions map', (t) => {
  const rendered = { dingtalk: { msgType: 'markdown' as const, title: 'T', text: 'synced', at: { initiator: true } } };
  const mentions = { alice: { mobile: '13900000000' }, bob: { userId: 'bob-ding' } };
  t.deepEqual(buildDingTalkBody(rendered, { mentions, initiator: 'alice' }).body, {
    msgtype: 'markdown',
    markdown: { title: 'T', text: 'synced\n\n@13900000000' },
    at: { atMobiles: ['13900000000'] },
  });
  t.deepEqual(buildDingTalkBody(rendered, { mentions, initiator: 'bob' }).body, {
    msgtype: 'markdown',
    markdown: { title: 'T', text: 'synced\n\n@bob-ding' },
    at: { atUserIds: ['bob-ding'] },
  });
});

test('an initiator without a mapping is skipped and reported', (t) => {
  const rendered = { dingtalk: { msgType: 'markdown' as const, title: 'T', text: 'synced', at: { initiator: true } } };
  const unknown = buildDingTalkBody(rendered, { mentions: { alice: { mobile: '1' } }, initiator: 'mallory' });
  t.deepEqual(unknown.body, { msgtype: 'markdown', markdown: { title: 'T', text: 'synced' } });
  t.is(unknown.notes.length, 1);
  t.regex(unknown.notes[0]!, /"mallory" has no mobile or userId/);
  const automated = buildDingTalkBody(rendered, { mentions: {}, initiator: undefined });
  t.regex(automated.notes[0]!, /no initiator/);
});

test('link and feedCard messages cannot mention: the mention is dropped with a note', (t) => {
  const { body, notes } = buildDingTalkBody({
    dingtalk: { msgType: 'link', title: 'T', text: 'x', messageURL: 'https://a', at: { mobiles: ['1'] } },
  });
  t.false('at' in body);
  t.regex(notes[0]!, /cannot mention/);
});

test('actionCard carries `at` but does not write numbers into the card', (t) => {
  const { body } = buildDingTalkBody({
    dingtalk: { msgType: 'actionCard', title: 'T', text: 'x', singleTitle: 'Open', singleURL: 'https://a', at: { mobiles: ['138'] } },
  });
  t.deepEqual(body, {
    msgtype: 'actionCard',
    actionCard: { title: 'T', text: 'x', singleTitle: 'Open', singleURL: 'https://a' },
    at: { atMobiles: ['138'] },
  });
});

test('msgUuid is set only when asked for', (t) => {
  t.false('msgUuid' in buildDingTalkBody({ message: 'x' }).body);
  t.is(buildDingTalkBody({ message: 'x' }, { msgUuid: 'k-1' }).body.msgUuid, 'k-1');
});

test('missingKeyword: any keyword in any visible field passes; none fails with an explanation', (t) => {
  const markdown: DingTalkBody = { msgtype: 'markdown', markdown: { title: 'ArgoCD: app', text: 'synced' } };
  t.is(missingKeyword(markdown, []), undefined);
  t.is(missingKeyword(markdown, ['  ']), undefined);
  t.is(missingKeyword(markdown, ['deploy', 'ArgoCD']), undefined);
  t.is(missingKeyword(markdown, ['synced']), undefined);
  const explanation = missingKeyword(markdown, ['argocd', 'Deploy']);
  t.truthy(explanation);
  t.regex(explanation!, /"argocd", "Deploy"/);
  t.regex(explanation!, /markdown.title, markdown.text/);

  const card: DingTalkBody = {
    msgtype: 'actionCard',
    actionCard: { title: 't', text: 'x', btns: [{ title: 'Open in ArgoCD', actionURL: 'https://ArgoCD-host' }] },
  };
  t.is(missingKeyword(card, ['ArgoCD']), undefined);
  const feed: DingTalkBody = { msgtype: 'feedCard', feedCard: { links: [{ title: 'a', messageURL: 'https://ArgoCD', picURL: 'p' }] } };
  t.truthy(missingKeyword(feed, ['ArgoCD']), 'URLs are not visible text');
});

test('signedUrl appends timestamp and the URL-encoded HMAC-SHA256 signature', (t) => {
  const secret = 'SECsigningsecretfortests0001';
  const now = 1_700_000_000_123;
  const url = new URL(signedUrl('https://oapi.dingtalk.com/robot/send?access_token=abc123', secret, now));
  t.is(url.searchParams.get('access_token'), 'abc123');
  t.is(url.searchParams.get('timestamp'), '1700000000123');
  t.is(url.searchParams.get('sign'), robotSignature(secret, '1700000000123'));
  // The raw query keeps base64's + / = percent-encoded.
  t.notRegex(url.search.split('sign=')[1]!, /[+/=]/);
  t.is(signedUrl('https://x/robot/send?access_token=a', undefined, now), 'https://x/robot/send?access_token=a');
});

test('signedUrl replaces a timestamp and sign already in the URL', (t) => {
  const url = new URL(signedUrl('https://x/robot/send?access_token=a&timestamp=1&sign=old', 'SECs', 5));
  t.deepEqual(url.searchParams.getAll('timestamp'), ['5']);
  t.deepEqual(url.searchParams.getAll('sign'), [robotSignature('SECs', '5')]);
});

test('fitToSize leaves small bodies alone and shortens long texts under the limit', (t) => {
  const small: DingTalkBody = { msgtype: 'text', text: { content: 'x' } };
  t.deepEqual(fitToSize(small), { body: small, truncated: false });

  const long: DingTalkBody = { msgtype: 'markdown', markdown: { title: 'ArgoCD', text: '日志 "line" 🚀\n'.repeat(3000) } };
  const fitted = fitToSize(long);
  t.true(fitted.truncated);
  const size = Buffer.byteLength(JSON.stringify(fitted.body));
  t.true(size <= DINGTALK_MAX_BODY_BYTES, `${size} bytes`);
  t.true(size > DINGTALK_MAX_BODY_BYTES - 100, `uses the room it has (${size} bytes)`);
  t.regex((fitted.body as { markdown: { text: string } }).markdown.text, /truncated by herald/);

  const feed: DingTalkBody = {
    msgtype: 'feedCard',
    feedCard: { links: Array.from({ length: 400 }, (_, i) => ({ title: `entry ${i} ${'x'.repeat(40)}`, messageURL: 'https://a', picURL: 'https://p' })) },
  };
  const error = t.throws(() => fitToSize(feed), { instanceOf: MessageRejectedError });
  t.is(error?.reason, 'MessageTooLarge');
});

test('digest: one markdown message with a section per item and the count in the title', (t) => {
  const items = [
    { title: 'ArgoCD: a synced', text: 'rev 1' },
    { title: 'ArgoCD: b degraded', text: 'pod crash' },
  ];
  const { body, included, omitted } = buildDigestBody(items);
  t.is(included, 2);
  t.is(omitted, 0);
  t.is(body.msgtype, 'markdown');
  t.is(body.markdown.title, 'herald: 2 notifications');
  t.is(body.markdown.text, '#### ArgoCD: a synced\n\nrev 1\n\n---\n\n#### ArgoCD: b degraded\n\npod crash');
  t.is(missingKeyword(body, ['ArgoCD']), undefined);
});

test('digest: stays under the size limit and says how many items were cut', (t) => {
  const items = Array.from({ length: 60 }, (_, i) => ({ title: `ArgoCD: app-${i}`, text: `状态 ${i} `.repeat(400) }));
  const { body, included, omitted } = buildDigestBody(items, { at: { atMobiles: ['13800000000'] } });
  const size = Buffer.byteLength(JSON.stringify(body));
  t.true(size <= 19_000, `${size} bytes`);
  t.true(included >= 5, `${included} included`);
  t.is(included + omitted, 60);
  t.true(omitted > 0);
  t.is(body.markdown.title, 'herald: 60 notifications');
  t.true(body.markdown.text.includes(`… and ${omitted} more notifications not shown`));
  t.true(body.markdown.text.endsWith('@13800000000'));
  t.deepEqual(body.at, { atMobiles: ['13800000000'] });
  // Items keep their order and whole titles.
  for (let i = 0; i < included; i++) t.true(body.markdown.text.includes(`#### ArgoCD: app-${i}\n`));
  t.false(body.markdown.text.includes(`#### ArgoCD: app-${included}\n`));
});

test('digest: a single huge item is shortened rather than dropped', (t) => {
  const { body, included, omitted } = buildDigestBody([{ title: 'ArgoCD: big', text: 'x'.repeat(50_000) }], { maxItemChars: 100_000 });
  t.is(included, 1);
  t.is(omitted, 0);
  t.true(Buffer.byteLength(JSON.stringify(body)) <= 19_000);
  t.true(body.markdown.text.startsWith('#### ArgoCD: big\n\nxxx'));
});

test('digest: an absurdly long title is cut instead of failing the whole digest', (t) => {
  const { body, included } = buildDigestBody([
    { title: `ArgoCD: ${'t'.repeat(40_000)}`, text: 'x' },
    { title: 'ArgoCD: b', text: 'y' },
  ]);
  t.is(included, 2);
  t.true(Buffer.byteLength(JSON.stringify(body)) <= 19_000);
  t.true(body.markdown.text.startsWith(`#### ArgoCD: ${'t'.repeat(100)}`));
});

test('digest: no items is an error', (t) => {
  t.throws(() => buildDigestBody([]), { instanceOf: MessageRejectedError });
});

test('digestItemOf and mergeAt turn bodies into digest input', (t) => {
  const bodies: DingTalkBody[] = [
    { msgtype: 'text', text: { content: 'ArgoCD: a\nmore' }, at: { atMobiles: ['1'] } },
    { msgtype: 'link', link: { title: 'L', text: 'x', messageUrl: 'https://l' } },
    { msgtype: 'actionCard', actionCard: { title: 'C', text: 'y', singleTitle: 'Open', singleURL: 'https://c' }, at: { atMobiles: ['1', '2'], isAtAll: true } },
    { msgtype: 'feedCard', feedCard: { links: [{ title: 'F', messageURL: 'https://f', picURL: 'p' }] } },
  ];
  t.deepEqual(bodies.map(digestItemOf), [
    { title: 'ArgoCD: a', text: 'ArgoCD: a\nmore' },
    { title: 'L', text: 'x\n\n[L](https://l)' },
    { title: 'C', text: 'y\n\n[Open](https://c)' },
    { title: 'F', text: '- [F](https://f)' },
  ]);
  t.deepEqual(mergeAt(bodies), { atMobiles: ['1', '2'], isAtAll: true });
});

test('registry: dingtalk is known, other types are a ConfigurationError', (t) => {
  t.deepEqual(channelTypes(), ['dingtalk']);
  const channel = createChannel('dingtalk', {
    spec: { webhook: { urlSecretRef: { name: 's', key: 'url' } } },
    secrets: { webhookUrl: 'https://oapi.dingtalk.com/robot/send?access_token=registrytoken' },
  });
  t.is(channel.type, 'dingtalk');
  const unknown = t.throws(() => createChannel('slack', { spec: {}, secrets: {} }), { instanceOf: ChannelConfigurationError });
  t.is(unknown?.reason, 'Unsupported');
});

test('registry: a bad webhook Secret or spec.app is a ConfigurationError that does not quote the value', (t) => {
  const spec = { webhook: { urlSecretRef: { name: 'robot', key: 'url' }, signSecretRef: { name: 'robot', key: 'sign' } } };
  const notUrl = t.throws(() => createChannel('dingtalk', { spec, secrets: { webhookUrl: 'just-a-token-value-123', signSecret: 'SEC1' } }), {
    instanceOf: ChannelConfigurationError,
  });
  t.is(notUrl?.reason, 'InvalidWebhookURL');
  t.false(notUrl?.message.includes('just-a-token-value-123'));
  const empty = t.throws(() => createChannel('dingtalk', { spec, secrets: { webhookUrl: '' } }), { instanceOf: ChannelConfigurationError });
  t.regex(empty?.message ?? '', /Secret robot key url is empty/);
  const noSign = t.throws(() => createChannel('dingtalk', { spec, secrets: { webhookUrl: 'https://x/robot/send?access_token=abcdef' } }), {
    instanceOf: ChannelConfigurationError,
  });
  t.is(noSign?.reason, 'InvalidSignSecret');
  const app = t.throws(() => createChannel('dingtalk', { spec: { app: {} }, secrets: {} }), { instanceOf: ChannelConfigurationError });
  t.is(app?.reason, 'Unsupported');
});
