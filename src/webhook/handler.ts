// What to do with one received webhook request, decided without I/O: which provider
// sent it, whether its secret checks out, what it pushed and which Applications that
// concerns. The server does the I/O (reading, answering, patching, logging).
import { errorMessage } from '../errors.js';
import { MalformedPayloadError } from './errors.js';
import { findApplicationsToRefresh } from './match.js';
import type { IncomingHttpHeaders } from 'node:http';
import { SECRET_KEYS, detectProvider } from './providers.js';
import { hasCredential, verifyCredential } from './signature.js';
import type { ApplicationLike, ApplicationRef, ProviderName, PushEvent, WebhookProvider, WebhookRequest, WebhookSecrets } from './types.js';

/** Values of the `result` label of herald_webhook_requests_total. */
export type WebhookResult = 'accepted' | 'ignored' | 'unauthorized' | 'malformed' | 'too_large' | 'busy' | 'not_configured' | 'error';

export interface WebhookDecision {
  status: number;
  result: WebhookResult;
  provider: ProviderName | 'unknown';
  /** What the response body says; safe to show the sender. */
  message: string;
  /** For the log line: more detail than the sender gets (never a secret). */
  detail?: string;
  /** Each pushed ref with the apps it concerns (a Bitbucket push may move several refs). */
  pushes?: Array<{ push: PushEvent; applications: ApplicationRef[] }>;
  /** Every app to refresh, each once. */
  applications?: ApplicationRef[];
}

/** What the headers alone decide: a refusal, or the provider and its secret to read the body for. */
export type HeaderCheck = { ok: false; decision: WebhookDecision } | { ok: true; provider: WebhookProvider; secret: string };

/**
 * The checks that need no body: the provider, its configured secret, the presence of its
 * signature or token header, and a token's value. The receiver runs them before it reads
 * (and buffers) a body, so an unsigned request costs no memory.
 */
export function checkHeaders(headers: IncomingHttpHeaders, secrets: WebhookSecrets, origin = 'the webhook Secret'): HeaderCheck {
  const refuse = (decision: WebhookDecision): HeaderCheck => ({ ok: false, decision });
  const provider = detectProvider(headers);
  if (!provider) {
    return refuse({
      status: 400,
      result: 'malformed',
      provider: 'unknown',
      message: 'unknown webhook: no X-GitHub-Event, X-Gitlab-Event, X-Hook-UUID, X-Event-Key or X-Gogs-Event header',
    });
  }
  const name = provider.name;
  const secret = secrets[name];
  if (secret === undefined || secret === '') {
    return refuse({
      status: 403,
      result: 'not_configured',
      provider: name,
      message: `${provider.displayName} webhooks are not enabled on this receiver`,
      detail: `${provider.displayName} webhook rejected: no secret configured (${origin} has no key ${SECRET_KEYS[name]})`,
    });
  }
  const credential = provider.credential;
  if (!hasCredential(credential, headers)) {
    const what = credential.kind === 'token' ? 'token' : 'signature';
    return refuse({
      status: 401,
      result: 'unauthorized',
      provider: name,
      message: `${provider.displayName} webhook has no ${headerName(credential.header)} header: a ${what} is required`,
      detail: `${provider.displayName} webhook rejected before its body: no ${what} header (${origin} key ${SECRET_KEYS[name]} is set)`,
    });
  }
  if (credential.kind === 'token' && !verifyCredential(credential, { headers, body: Buffer.alloc(0) }, secret)) return refuse(unauthorized(provider, origin));
  return { ok: true, provider, secret };
}

function unauthorized(provider: WebhookProvider, origin: string): WebhookDecision {
  return {
    status: 401,
    result: 'unauthorized',
    provider: provider.name,
    message: `${provider.displayName} webhook signature or token does not match`,
    detail: `${provider.displayName} webhook verification failed (${origin} key ${SECRET_KEYS[provider.name]})`,
  };
}

/** `x-hub-signature-256` as providers write it: `X-Hub-Signature-256`. */
function headerName(lowerCase: string): string {
  return lowerCase.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/**
 * `origin` names where secrets come from in log details, e.g. "Secret argocd/argocd-secret".
 * Applications are only listed for a verified push.
 */
export function decideWebhook(
  request: WebhookRequest,
  secrets: WebhookSecrets,
  applications: () => Iterable<ApplicationLike>,
  origin = 'the webhook Secret',
): WebhookDecision {
  const checked = checkHeaders(request.headers, secrets, origin);
  if (!checked.ok) return checked.decision;
  const { provider, secret } = checked;
  const name = provider.name;
  if (!verifyCredential(provider.credential, request, secret)) return unauthorized(provider, origin);
  try {
    const event = provider.parse(request);
    if (event.kind === 'ping') return { status: 200, result: 'ignored', provider: name, message: 'pong' };
    if (event.kind === 'ignored') {
      return { status: 200, result: 'ignored', provider: name, message: `ignored ${event.event} event: ${event.reason}` };
    }
    const apps = [...applications()];
    const pushes = event.pushes.map((push) => ({ push, applications: findApplicationsToRefresh([push], apps) }));
    const seen = new Set<string>();
    const matched = pushes
      .flatMap((entry) => entry.applications)
      .filter((app) => !seen.has(`${app.namespace}/${app.name}`) && seen.add(`${app.namespace}/${app.name}`));
    return {
      status: 202,
      result: 'accepted',
      provider: name,
      message: matched.length === 0 ? 'push received; no application follows this repository and revision' : `push received; refreshing ${matched.length} application(s)`,
      pushes,
      applications: matched,
    };
  } catch (error) {
    if (error instanceof MalformedPayloadError) {
      return { status: 400, result: 'malformed', provider: name, message: error.message };
    }
    return { status: 500, result: 'error', provider: name, message: 'internal error while handling the webhook', detail: errorMessage(error) };
  }
}
