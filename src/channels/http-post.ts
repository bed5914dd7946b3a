// One small POST over node:http / node:https, for the channels' outbound requests (the
// DingTalk robot). It replaced axios, whose per-request work (config merging, header
// objects, interceptors, adapters) was about 8 % of the operator's busy time for one
// small JSON POST per notification (docs/adr/0005-thin-robot-post.md).
//
// What it does, and nothing more: one request with the given headers and body; the
// whole request (connect, send, answer, body) bounded by `timeoutMs`; the caller's
// AbortSignal stops it; the answer's body read as UTF-8 text up to `maxResponseBytes`
// (beyond it the request is aborted); redirects are never followed (a 3xx is an answer
// like any other); no proxy from the environment, no decompression (no Accept-Encoding
// is sent). Connections are kept alive between requests (one agent per scheme, shared).
//
// Failures are PostFailure: a `kind` for the caller to classify, the node error `code`
// (ECONNREFUSED, ECONNRESET…) and a message that never holds the URL, its query or a
// header; the node error itself is not kept.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostOptions {
  /** Request headers; Content-Length is set here. */
  headers: Record<string, string>;
  /** Bound on the whole request, from now until the answer's body has arrived. */
  timeoutMs: number;
  /** The caller's cancel (shutdown, lost leadership). */
  signal?: AbortSignal;
  /** Largest answer body read; a longer one aborts the request. */
  maxResponseBytes: number;
}

export interface PostAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text ('' when there was none). */
  body: string;
}

/** timeout: `timeoutMs` passed; cancelled: the caller's signal; too-large: the body went past the limit; network: the rest. */
export type PostFailureKind = 'timeout' | 'cancelled' | 'too-large' | 'network';

/** Error codes of the failures made here (network failures keep node's code). */
export const PostFailureCodes = {
  timeout: 'ETIMEDOUT',
  cancelled: 'ABORT_ERR',
  'too-large': 'ERR_RESPONSE_TOO_LARGE',
} as const;

export class PostFailure extends Error {
  override readonly name = 'PostFailure';
  constructor(
    readonly kind: PostFailureKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Node 20's own global agents use these settings: keep-alive, the most recently used
// connection first (the others can time out), and an idle connection closed after 5 s
// (or a second before the server's Keep-Alive timeout, when it announces a shorter one),
// so that a connection the server is about to close is seldom reused.
const AGENT_OPTIONS = { keepAlive: true, scheduling: 'lifo', timeout: 5000 } as const;
const httpAgent = new HttpAgent(AGENT_OPTIONS);
const httpsAgent = new HttpsAgent(AGENT_OPTIONS);

/** The failure of a node error, keeping only its code and message (node's messages name no URL). */
function networkFailure(error: unknown): PostFailure {
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'ENETWORK';
  return new PostFailure('network', code, error instanceof Error ? error.message : String(error));
}

/** POST `body` to `url` and read the answer (see the file comment for what is and is not done). */
export function postText(url: URL, body: string, options: PostOptions): Promise<PostAnswer> {
  const { signal, timeoutMs, maxResponseBytes } = options;
  return new Promise<PostAnswer>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new PostFailure('cancelled', PostFailureCodes.cancelled, 'the request was cancelled before it was sent'));
      return;
    }
    const payload = Buffer.from(body, 'utf8');
    const https = url.protocol === 'https:';
    let settled = false;
    const settle = (failure: PostFailure | undefined, answer?: PostAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (failure) {
        // Destroying the request closes its connection (never returned to the pool);
        // the 'error' it emits then is ignored (already settled).
        request.destroy();
        reject(failure);
      } else {
        resolve(answer!);
      }
    };
    const fail = (failure: PostFailure): void => settle(failure);
    const onAbort = (): void => fail(new PostFailure('cancelled', PostFailureCodes.cancelled, 'the request was cancelled'));
    const tooLarge = (): PostFailure =>
      new PostFailure('too-large', PostFailureCodes['too-large'], `the answer was larger than ${maxResponseBytes} bytes; the request was aborted`);

    const onResponse = (response: IncomingMessage): void => {
      const declared = Number(response.headers['content-length']);
      if (declared > maxResponseBytes) {
        fail(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) fail(tooLarge());
        else chunks.push(chunk);
      });
      response.on('end', () => {
        settle(undefined, { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks, size).toString('utf8') });
      });
      response.on('error', (error) => fail(networkFailure(error)));
      response.on('close', () => {
        if (!response.complete) fail(new PostFailure('network', 'ECONNRESET', 'the connection closed before the whole answer arrived'));
      });
    };

    const request = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        agent: https ? httpsAgent : httpAgent,
        headers: { ...options.headers, 'Content-Length': String(payload.length) },
      },
      onResponse,
    );
    request.on('error', (error) => fail(networkFailure(error)));
    const timer = setTimeout(() => fail(new PostFailure('timeout', PostFailureCodes.timeout, `no answer within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    request.end(payload);
  });
}
