// A channel turns a rendered notification into its own request and sends it.
// One file per channel type; the registry picks one by type.
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
