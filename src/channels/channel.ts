// A channel turns a rendered notification into its own request and sends it.
// One file per channel type; the registry picks one by type.
import type { RenderedNotification } from '../templates/types.js';

export interface OutgoingMessage {
  /** The rendered template. */
  rendered: RenderedNotification;
  /** Who started the sync, for `at.initiator` mentions. */
  initiator?: string;
}

export interface SendReceipt {
  /** The channel's own answer, for the CLI and debug logs (never holds a secret). */
  response: unknown;
}

export interface Channel {
  readonly type: string;
  send(message: OutgoingMessage, signal?: AbortSignal): Promise<SendReceipt>;
}
