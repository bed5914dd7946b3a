// A channel turns a rendered notification into its own request and sends it.
// One file per channel type; the registry picks one by type.
import type { HostAllowList } from './allowlist.js';
import type { RenderedNotification } from '../templates/types.js';

export interface OutgoingMessage {
  /** The rendered template. */
  rendered: RenderedNotification;
  /** Who started the sync, for `at.initiator` mentions. */
  initiator?: string;
  /**
   * Optional idempotency key passed to channels that accept one (DingTalk: `msgUuid`).
   * Must be unique per decided message (the same for every retry of it, different for
   * a later message with the same ledger key). Best effort only: herald's delivery
   * guarantees never depend on the channel honouring it.
   */
  idempotencyKey?: string;
  /**
   * What the message is about, for the one-line form channels use when they merge many
   * messages (a DingTalk digest). Optional: without it the message's title and first link are used.
   */
  about?: MessageSummary;
}

/** What a message is about, in a few words. */
export interface MessageSummary {
  /** The Application, e.g. `argocd/guestbook`. */
  app: string;
  /** What happened (usually the trigger), e.g. `on-sync-succeeded`. */
  event: string;
  revision?: string;
  /** Where to look (Argo CD, the commit…). */
  link?: string;
}

export interface SendReceipt {
  /** The channel's own answer, for the CLI and debug logs (never holds a secret). */
  response: unknown;
  /** Things the caller may want to log, e.g. a mention that could not be resolved. */
  notes?: string[];
}

/** What a digest send reports: messages[0 .. included-1] are in it, the rest were cut. */
export interface DigestReceipt extends SendReceipt {
  /** How many of the given messages (from the front) the digest shows. */
  included: number;
  /** How many were cut for size; the digest says so, the caller decides whether to resend them. */
  omitted: number;
}

export interface Channel {
  readonly type: string;
  send(message: OutgoingMessage, signal?: AbortSignal): Promise<SendReceipt>;
  /** Merge several waiting messages into one (for rate-limited channels); optional. */
  sendDigest?(messages: OutgoingMessage[], signal?: AbortSignal): Promise<DigestReceipt>;
}

/** A Secret's data, decoded to strings. */
export type SecretData = Readonly<Record<string, string>>;

/**
 * Reads a Secret of the channel's own namespace (never another one): its data, or
 * undefined when it does not exist. The controller reads its cache; the CLI a cluster or files.
 */
export type SecretReader = (name: string) => SecretData | undefined | Promise<SecretData | undefined>;

/** Why a channel resource cannot be used, for its Ready condition (never quotes a secret). */
export interface ChannelProblem {
  /** Condition reason, e.g. SecretNotFound, InvalidWebhookURL. */
  reason: string;
  /** What is wrong and where; starts with the spec field when there is one. */
  message: string;
  /** The spec field the problem is about, e.g. spec.webhook.urlSecretRef. */
  field?: string;
}

/** A channel ready to send, or the problem that keeps its resource from being Ready. */
export type ChannelResolution<C extends Channel = Channel> = { ok: true; channel: C } | { ok: false; problem: ChannelProblem };

/** Process-wide settings a channel factory gets besides the resource. */
export interface ChannelOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Wait after the channel said "too fast" (DingTalk 130101). */
  throttledRetryMs?: number;
  /** Clock (signing); the CLI fixes it so that the URL it prints is the URL it sends to. */
  now?: () => number;
  /** Hosts the channel may send to; a URL elsewhere is a HostNotAllowed problem. The controller always sets it. */
  allowedHosts?: HostAllowList;
}

/** What a channel factory gets: the resource's namespace and spec, and how to read its Secrets. */
export interface ChannelRequest {
  namespace: string;
  /** The resource's spec, as stored (the factory knows its shape). */
  spec: unknown;
  readSecret: SecretReader;
  options?: ChannelOptions;
}
