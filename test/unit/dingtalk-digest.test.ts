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

test('digest: many messages are one line each (app, event, revision, link), and all fit', (t) => {
  const sha = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  const items = Array.from({ length: 60 }, (_, i) => ({
    title: `ArgoCD: app-${i} synced`,
    text: `状态 ${i} `.repeat(400),
    summary: { app: `argocd/app-${i}`, event: 'on-sync-succeeded', revision: sha, link: `https://argocd.example.com/applications/argocd/app-${i}` },
  }));
  const { body, included, omitted, layout } = buildDigestBody(items, { at: { atMobiles: ['13800000000'] }, keywords: ['ArgoCD'] });
  t.is(layout, 'lines');
  t.is(included, 60);
  t.is(omitted, 0);
  t.is(body.markdown.title, 'ArgoCD · herald: 60 notifications', 'the lines lack the keyword, so the frame carries it');
  const lines = body.markdown.text.split('\n');
  t.is(lines[0], '#### ArgoCD · herald: 60 notifications');
  t.is(lines[2], '- **argocd/app-0** · on-sync-succeeded · `a1b2c3d` · [open](https://argocd.example.com/applications/argocd/app-0)');
  t.is(lines[61], '- **argocd/app-59** · on-sync-succeeded · `a1b2c3d` · [open](https://argocd.example.com/applications/argocd/app-59)');
  t.true(body.markdown.text.endsWith('\n\n@13800000000'));
  t.deepEqual(body.at, { atMobiles: ['13800000000'] });
  t.is(missingKeyword(body, ['ArgoCD']), undefined);
});

test('digest: what does not fit is continued in the next message, and the title counts what is shown', (t) => {
  const items = Array.from({ length: 400 }, (_, i) => ({ title: `ArgoCD: app-${i} ${'长'.repeat(60)}`, text: 'x', link: `https://argocd.example.com/app-${i}` }));
  const { body, included, omitted, layout } = buildDigestBody(items, { at: { atUserIds: ['ops-lead'] }, keywords: ['ArgoCD'] });
  const size = Buffer.byteLength(JSON.stringify(body));
  t.true(size <= 19_000, `${size} bytes`);
  t.true(size > 18_000, `uses the room it has (${size} bytes)`);
  t.is(layout, 'lines');
  t.true(included > 20 && included < 400, `${included} included`);
  t.is(included + omitted, 400);
  t.is(body.markdown.title, `herald: ${included} notifications`, 'the items carry the keyword: nothing added');
  t.true(body.markdown.text.includes(`\n\n*${omitted} more notifications, continued in the next message.*`));
  t.false(body.markdown.text.includes('not shown'));
  // Items keep their order; the first left out is the first of the next message.
  const lines = body.markdown.text.split('\n').filter((line) => line.startsWith('- '));
  t.is(lines.length, included);
  lines.forEach((line, i) => t.is(line, `- ArgoCD: app-${i} ${'长'.repeat(60)} · [open](https://argocd.example.com/app-${i})`));
  t.true(body.markdown.text.endsWith('@ops-lead'));
});

test('digest: a few messages too large to show in full become lines, so that all fit', (t) => {
  const items = Array.from({ length: 4 }, (_, i) => ({ title: `ArgoCD: app-${i}`, text: '日志 '.repeat(2000) }));
  const { body, included, layout } = buildDigestBody(items, { maxItemChars: 100_000 });
  t.is(layout, 'lines');
  t.is(included, 4);
  t.is(body.markdown.text, '- ArgoCD: app-0\n- ArgoCD: app-1\n- ArgoCD: app-2\n- ArgoCD: app-3');
});

test('digest: the size limit holds for every count, with mentions and a long keyword', (t) => {
  for (const count of [1, 2, 5, 6, 9, 10, 99, 100, 999, 1000]) {
    const items = Array.from({ length: count }, (_, i) => ({ title: `deploy ${i} "q" \\ ${'é'.repeat(i % 50)}`, text: 'line\n'.repeat(300) }));
    for (const maxBytes of [2_000, 19_000]) {
      const { body, included } = buildDigestBody(items, { maxBytes, at: { atMobiles: ['13800000000', '13900000000'], isAtAll: true }, keywords: ['a-long-robot-keyword-that-is-not-there'] });
      const size = Buffer.byteLength(JSON.stringify(body));
      t.true(size <= maxBytes, `${count} items, ${maxBytes}: ${size} bytes`);
      t.true(included >= 1);
      t.is(missingKeyword(body, ['a-long-robot-keyword-that-is-not-there']), undefined);
    }
  }
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
    { title: 'L', text: 'x\n\n[L](https://l)', link: 'https://l' },
    { title: 'C', text: 'y\n\n[Open](https://c)', link: 'https://c' },
    { title: 'F', text: '- [F](https://f)', link: 'https://f' },
  ]);
  t.deepEqual(digestItemOf({ msgtype: 'markdown', markdown: { title: 'M', text: 'see [app](https://argo/app) and https://git/c' } }).link, 'https://argo/app');
  t.deepEqual(digestItemOf({ msgtype: 'text', text: { content: 'see https://git/commit/1 now' } }).link, 'https://git/commit/1');
  t.deepEqual(mergeAt(bodies), { atMobiles: ['1', '2'], isAtAll: true });
});
