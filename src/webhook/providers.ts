// The providers in the order their headers are tested: Gogs before GitHub (Gogs and
// Gitea may send GitHub's header too), Bitbucket Cloud before Bitbucket Server (both
// send X-Event-Key; only Cloud sends X-Hook-UUID).
import type { IncomingHttpHeaders } from 'node:http';
import { bitbucket } from './bitbucket.js';
import { bitbucketServer } from './bitbucketserver.js';
import { github } from './github.js';
import { gitlab } from './gitlab.js';
import { gogs } from './gogs.js';
import type { ProviderName, WebhookProvider } from './types.js';

export const providers: readonly WebhookProvider[] = [gogs, github, gitlab, bitbucket, bitbucketServer];

export function detectProvider(headers: IncomingHttpHeaders): WebhookProvider | undefined {
  return providers.find((provider) => provider.detects(headers));
}

/** The key in Argo CD's `argocd-secret` that holds each provider's secret. */
export const SECRET_KEYS: Readonly<Record<ProviderName, string>> = {
  github: 'webhook.github.secret',
  gitlab: 'webhook.gitlab.secret',
  bitbucket: 'webhook.bitbucket.uuid',
  bitbucketserver: 'webhook.bitbucketserver.secret',
  gogs: 'webhook.gogs.secret',
};
