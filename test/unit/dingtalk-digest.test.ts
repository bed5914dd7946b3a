// DingTalk digests: many waiting messages in one markdown message (pure).
import test from 'ava';
import { type DingTalkBody, mergeAt } from '../../src/channels/dingtalk/body.js';
import { buildDigestBody, digestItemOf } from '../../src/channels/dingtalk/digest.js';
import { missingKeyword } from '../../src/channels/dingtalk/keywords.js';
import { MessageRejectedError } from '../../src/channels/errors.js';

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
