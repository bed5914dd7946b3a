// Gogs (and Gitea, which sends the Gogs headers too): `X-Gogs-Event: push`, body
// signed in `X-Gogs-Signature: <hex HMAC-SHA256>` (no prefix). Checked before GitHub,
// because these servers may also send GitHub's event header.
import { parseGitHubStylePush } from './github.js';
import { PayloadReader } from './payload.js';
import { header } from './signature.js';
import type { WebhookProvider } from './types.js';

export const gogs: WebhookProvider = {
  name: 'gogs',
  displayName: 'Gogs',
  detects: (headers) => header(headers, 'x-gogs-event') !== undefined,
  credential: { kind: 'hmac-sha256', header: 'x-gogs-signature', prefix: '' },
  parse(request) {
    const event = header(request.headers, 'x-gogs-event') ?? '';
    if (event !== 'push') return { kind: 'ignored', event, reason: 'only push events refresh applications' };
    // Gitea adds total_commits when it shortened the commits list.
    return parseGitHubStylePush('gogs', new PayloadReader('Gogs push payload'), request, { totalCommitsField: 'total_commits' });
  },
};
