// The pure parts of the DingTalk channel: bodies, mentions, keywords, signing, sizes.
import test from 'ava';
import { buildDingTalkBody, type DingTalkBody } from '../../src/channels/dingtalk/body.js';
import { missingKeyword } from '../../src/channels/dingtalk/keywords.js';
import { signedUrl } from '../../src/channels/dingtalk/sign.js';
import { DINGTALK_MAX_BODY_BYTES, fitToSize } from '../../src/channels/dingtalk/size.js';
import { MessageRejectedError } from '../../src/channels/errors.js';
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
