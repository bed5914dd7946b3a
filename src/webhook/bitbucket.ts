// Bitbucket Cloud: `X-Event-Key: repo:push`, authenticated the way Argo CD does it:
// the `X-Hook-UUID` header must equal the configured webhook UUID. One push may move
// several branches and tags (`push.changes[]`); each becomes a PushEvent. The payload
// lists no changed files, so manifest-generate-paths cannot rule an app out.
import { PayloadReader, decodeJsonBody, distinct } from './payload.js';
import { header, tokensEqual } from './signature.js';
import type { PushEvent, WebhookProvider } from './types.js';

/** Bitbucket shows UUIDs in braces and any case; `{ABC-1}` and `abc-1` are the same hook. */
function normalizeUUID(uuid: string): string {
  return uuid.trim().replace(/^\{|\}$/g, '').toLowerCase();
}

const REF_TYPES: Record<string, boolean | undefined> = { branch: false, named_branch: false, tag: true };

export const bitbucket: WebhookProvider = {
  name: 'bitbucket',
  displayName: 'Bitbucket Cloud',
  detects: (headers) => header(headers, 'x-hook-uuid') !== undefined,
  credential: { kind: 'token', header: 'x-hook-uuid', matches: (given, uuid) => tokensEqual(normalizeUUID(given), normalizeUUID(uuid)) },
  parse(request) {
    const event = header(request.headers, 'x-event-key') ?? '';
    if (event !== 'repo:push') return { kind: 'ignored', event: event || '(no X-Event-Key)', reason: 'only repo:push events refresh applications' };
    const reader = new PayloadReader('Bitbucket Cloud repo:push payload');
    const payload = reader.object(decodeJsonBody(request, reader.source), 'the body');
    const repository = reader.object(payload.repository, 'repository');
    const links = reader.object(repository.links, 'repository.links');
    const html = reader.object(links.html, 'repository.links.html');
    const repoURLs = distinct([reader.string(html.href, 'repository.links.html.href')]);
    const mainbranch = reader.optionalObject(repository.mainbranch, 'repository.mainbranch');
    const defaultBranch = mainbranch ? reader.optionalString(mainbranch.name, 'repository.mainbranch.name') : undefined;
    const push = reader.object(payload.push, 'push');
    const changes = reader.optionalArray(push.changes, 'push.changes') ?? reader.fail('push.changes', 'an array', push.changes);
    const pushes: PushEvent[] = [];
    changes.forEach((raw, i) => {
      const where = `push.changes[${i}]`;
      const change = reader.object(raw, where);
      const after = reader.optionalObject(change.new, `${where}.new`);
      const before = reader.optionalObject(change.old, `${where}.old`);
      // A deleted branch has no "new" state; the old one names it.
      const state = after ?? before;
      const side = after ? 'new' : 'old';
      if (!state) return;
      const type = reader.string(state.type, `${where}.${side}.type`);
      const isTag = REF_TYPES[type];
      if (isTag === undefined) return;
      const hash = (s: Record<string, unknown> | undefined, name: string) => {
        const target = s ? reader.optionalObject(s.target, `${where}.${name}.target`) : undefined;
        return target ? reader.optionalString(target.hash, `${where}.${name}.target.hash`) : undefined;
      };
      pushes.push({
        provider: 'bitbucket',
        repoURLs,
        revision: reader.string(state.name, `${where}.${side}.name`),
        isTag,
        defaultBranch,
        changedFiles: undefined,
        before: hash(before, 'old'),
        after: hash(after, 'new'),
      });
    });
    if (pushes.length === 0) return { kind: 'ignored', event, reason: 'the push moved no branch or tag' };
    return { kind: 'push', pushes };
  },
};
