// Typed errors. Every message is masked on construction, so a secret cannot leak
// through an error that is logged, put in an Event or written to a status.
import { maskSecrets } from './secrets.js';

export class HeraldError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(maskSecrets(message), options);
    this.name = new.target.name;
  }
}

/** Invalid user configuration: reported on a status condition, never retried. */
export class ConfigurationError extends HeraldError {
  constructor(readonly reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A failure that may go away by itself (network, 5xx, rate limit): retried with backoff. */
export class TransientError extends HeraldError {
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return maskSecrets(error.message);
  return maskSecrets(String(error));
}

/**
 * A NotificationTemplate failed while rendering for one Application (a filter given
 * garbage, a call of something undefined). Deterministic for that input, so it is a
 * configuration problem and not retried.
 */
export class TemplateRenderError extends ConfigurationError {
  constructor(
    /** The template field, e.g. `dingtalk.text`. */
    readonly field: string,
    message: string,
    options?: { cause?: unknown; line?: number },
  ) {
    super('TemplateRenderError', `${field}:${options?.line === undefined ? '' : ` line ${options.line}:`} ${message}`, options);
    this.line = options?.line;
  }
  readonly line: number | undefined;
}
