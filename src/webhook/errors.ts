// Errors of the webhook receiver. Messages say what was wrong and where, and are
// masked like every HeraldError, so a payload can never echo a secret back.
import { HeraldError } from '../errors.js';

/** A verified request whose body is not the push payload it claims to be (HTTP 400). */
export class MalformedPayloadError extends HeraldError {}

/** Writing the refresh annotation on an Application failed. */
export class RefreshError extends HeraldError {
  constructor(readonly app: { namespace: string; name: string }, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
