import { HeraldError } from '../errors.js';

/**
 * The API server answered with an error status (herald's own requests, merge-patch.ts).
 * Same shape as client-node's ApiException where callers look: `code` and the raw `body`.
 */
export class KubeApiError extends HeraldError {
  constructor(
    readonly code: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: the API server answered HTTP ${code}: ${serverMessage(body)}`);
  }
}

/** No answer from the API server (connection, TLS, timeout, credentials), or one that is not JSON. */
export class KubeRequestError extends HeraldError {}

/**
 * The message of a Status in an answer's body; a body that is not JSON is the message
 * itself, shortened; undefined for JSON without a message.
 */
function messageInBody(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' && parsed.message ? parsed.message : undefined;
  } catch {
    return body.slice(0, 500);
  }
}

function serverMessage(body: string): string {
  return messageInBody(body) ?? body.slice(0, 500);
}

// HTTP status of an error thrown by @kubernetes/client-node (ApiException has `code`) or KubeApiError.
export function statusCodeOf(error: unknown): number | undefined {
  if (error && typeof error === 'object') {
    const candidate = error as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
    if (typeof candidate.code === 'number') return candidate.code;
    if (typeof candidate.statusCode === 'number') return candidate.statusCode;
    if (typeof candidate.response?.statusCode === 'number') return candidate.response.statusCode;
  }
  return undefined;
}

/** The API server's own message from an ApiException or KubeApiError body, for error texts. */
export function apiMessageOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const body = (error as { body?: unknown }).body;
    if (typeof body === 'string') {
      const message = messageInBody(body);
      if (message !== undefined) return message;
    }
    if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
      return (body as { message: string }).message;
    }
    if (error instanceof Error) return error.message;
  }
  return String(error);
}
