// The shapes every webhook provider is reduced to, so that matching and the server
// never look at a provider's own payload format.
import type { IncomingHttpHeaders } from 'node:http';

export const PROVIDERS = ['github', 'gitlab', 'bitbucket', 'bitbucketserver', 'gogs'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** The secret of each provider that has one configured (Bitbucket Cloud: the hook UUID). */
export type WebhookSecrets = Readonly<Partial<Record<ProviderName, string>>>;

/** One ref that a push moved, normalised across providers. */
export interface PushEvent {
  provider: ProviderName;
  /** Every form of the repository URL the payload gives (web, https clone, ssh clone). */
  repoURLs: string[];
  /** Branch or tag name, without refs/heads/ or refs/tags/. */
  revision: string;
  isTag: boolean;
  /** The repository's default branch, when the payload says (Bitbucket payloads do not). */
  defaultBranch?: string;
  /** Files added, modified or removed by the pushed commits; undefined when the provider does not list them or the list is truncated. */
  changedFiles?: string[];
  before?: string;
  after?: string;
}

/** What a provider made of a verified request. */
export type ProviderEvent =
  | { kind: 'push'; pushes: PushEvent[] }
  | { kind: 'ping' }
  | { kind: 'ignored'; event: string; reason: string };

/** A received request: headers as Node gives them (lower-case names) and the raw body. */
export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /**
   * HMAC-SHA256 of the body with the provider's configured secret, computed while the
   * body streamed in (the receiver does this); computed from `body` when absent.
   */
  bodyHmac?: Buffer;
}

/**
 * How a provider proves a request is genuine. Either way the credential travels in
 * one header, so a request without it is refused before its body is read.
 */
export type WebhookCredential =
  /** A shared token in the header itself, checked before the body is read. */
  | { kind: 'token'; header: string; matches(given: string, secret: string): boolean }
  /** A hex HMAC-SHA256 of the body (after `prefix`), checked once the body is in. */
  | { kind: 'hmac-sha256'; header: string; prefix: string };

export interface WebhookProvider {
  name: ProviderName;
  /** For log lines and responses, e.g. "Bitbucket Server". */
  displayName: string;
  /** Whether the request's headers say it came from this provider. */
  detects(headers: IncomingHttpHeaders): boolean;
  credential: WebhookCredential;
  /** Turns a verified request into pushes; throws MalformedPayloadError on bad input. */
  parse(request: WebhookRequest): ProviderEvent;
}

/** The fields of an Argo CD Application source that matching reads. */
export interface ApplicationSourceLike {
  repoURL?: unknown;
  targetRevision?: unknown;
  path?: unknown;
  chart?: unknown;
}

/** The fields of an Argo CD Application that matching reads; anything else is ignored. */
export interface ApplicationLike {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { source?: ApplicationSourceLike | null; sources?: ApplicationSourceLike[] | null } | null;
}

export interface ApplicationRef {
  namespace: string;
  name: string;
}
