// Bitbucket Server / Data Center: `X-Event-Key: repo:refs_changed | diagnostics:ping`,
// body signed in `X-Hub-Signature: sha256=<hex HMAC-SHA256>`. The payload names the
// repository only by its clone links (http and ssh) and lists no changed files.
import { parseRef } from './refs.js';
import { PayloadReader, decodeJsonBody, distinct } from './payload.js';
import { header } from './signature.js';
import type { PushEvent, WebhookProvider } from './types.js';

export const bitbucketServer: WebhookProvider = {
  name: 'bitbucketserver',
  displayName: 'Bitbucket Server',
  detects: (headers) => header(headers, 'x-event-key') !== undefined,
  credential: { kind: 'hmac-sha256', header: 'x-hub-signature', prefix: 'sha256=' },
  parse(request) {
    const event = header(request.headers, 'x-event-key') ?? '';
    if (event === 'diagnostics:ping') return { kind: 'ping' };
    if (event !== 'repo:refs_changed') return { kind: 'ignored', event, reason: 'only repo:refs_changed events refresh applications' };
    const reader = new PayloadReader('Bitbucket Server repo:refs_changed payload');
    const payload = reader.object(decodeJsonBody(request, reader.source), 'the body');
    const repository = reader.object(payload.repository, 'repository');
    const links = reader.object(repository.links, 'repository.links');
    const clone = reader.optionalArray(links.clone, 'repository.links.clone') ?? [];
    const repoURLs = distinct(
      clone.map((raw, i) => reader.string(reader.object(raw, `repository.links.clone[${i}]`).href, `repository.links.clone[${i}].href`)),
    );
    if (repoURLs.length === 0) reader.fail('repository.links.clone', 'a non-empty array of {href, name}', links.clone);
    const changes = reader.optionalArray(payload.changes, 'changes') ?? reader.fail('changes', 'an array', payload.changes);
    const pushes: PushEvent[] = [];
    changes.forEach((raw, i) => {
      const where = `changes[${i}]`;
      const change = reader.object(raw, where);
      const ref = reader.optionalObject(change.ref, `${where}.ref`);
      const refId = (ref ? reader.optionalString(ref.id, `${where}.ref.id`) : undefined) ?? reader.string(change.refId, `${where}.refId`);
      const parsed = parseRef(refId);
      if (!parsed) return;
      const refType = ref ? reader.optionalString(ref.type, `${where}.ref.type`) : undefined;
      pushes.push({
        provider: 'bitbucketserver',
        repoURLs,
        revision: parsed.name,
        isTag: refType === undefined ? parsed.isTag : refType.toUpperCase() === 'TAG',
        defaultBranch: undefined,
        changedFiles: undefined,
        before: reader.optionalString(change.fromHash, `${where}.fromHash`),
        after: reader.optionalString(change.toHash, `${where}.toHash`),
      });
    });
    if (pushes.length === 0) return { kind: 'ignored', event, reason: 'the event changed no branch or tag' };
    return { kind: 'push', pushes };
  },
};
