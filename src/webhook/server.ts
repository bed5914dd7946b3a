// The Git webhook receiver: POST /api/webhook on its own port. What the headers can
// decide (provider, secret configured, signature or token present, a token's value) is
// decided before any body is read. Bodies are limited each (413, on Content-Length and
// while reading) and together (the buffer budget, 503), their HMAC is computed as they
// stream in, slow clients are cut off by header and request timeouts, and refreshes run
// in the background so a provider's delivery never waits on the API server. close()
// lets in-flight work finish.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { errorMessage } from '../errors.js';
import { gracefulClose, listen } from '../http-server.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BodyBudget, discardBody, readBody } from './body.js';
import { checkHeaders, decideWebhook, type WebhookDecision } from './handler.js';
import { detectProvider } from './providers.js';
import { RefreshQueue } from './refresh-queue.js';
import type { ApplicationLike, ApplicationRef, PushEvent, WebhookSecrets } from './types.js';

export const WEBHOOK_PATH = '/api/webhook';
export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
export const DEFAULT_BUFFER_BUDGET_BYTES = 32 * 1024 * 1024;

export interface WebhookReceiverOptions {
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  /** Interface to bind; all interfaces when omitted. */
  host?: string;
  /** Largest accepted body (default 10 MiB); larger ones get 413. */
  bodyLimitBytes?: number;
  /**
   * Bytes buffered across all requests in flight (default 32 MiB, at least bodyLimitBytes).
   * When full, the request holding the most is answered 503 with Retry-After.
   */
  bufferBudgetBytes?: number;
  /** Time allowed to receive a whole request, headers and body (default 30 s). */
  readTimeoutMs?: number;
  /** Time allowed to receive the request headers (default 10 s, at most readTimeoutMs). */
  headersTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** How long close() waits for in-flight requests and refreshes (default 10 s). */
  closeGraceMs?: number;
  /** Refresh patches sent at once (default 8). */
  refreshConcurrency?: number;
  /** Refreshes allowed to wait; pushes beyond it get 503 (default 10,000). */
  maxQueuedRefreshes?: number;
  /** The Applications currently known (an informer's cache). */
  listApplications: () => Iterable<ApplicationLike>;
  /** Asks Argo CD to refresh one Application (see refresh.ts). */
  refresh: (app: ApplicationRef) => Promise<void>;
  /** The current secrets (see secrets.ts); read on every request, so rotation needs no restart. */
  secrets: () => WebhookSecrets;
  /** Where the secrets live, for log lines, e.g. "Secret argocd/argocd-secret". */
  secretsOrigin?: string;
  log: Logger;
  metrics: Pick<Metrics, 'webhookRequests' | 'refreshRequests'>;
}

export interface WebhookReceiver {
  /** The port actually bound. */
  readonly port: number;
  /** Resolves when every refresh requested so far has finished (for tests and shutdown). */
  idle(): Promise<void>;
  /** Bytes of request bodies buffered right now (within the buffer budget). */
  bufferedBytes(): number;
  /** Stops accepting connections, lets in-flight requests and refreshes finish (bounded), then closes. */
  close(): Promise<void>;
}

interface JsonReply {
  message: string;
  applications?: string[];
}

// How long a refused request's body is still drained, so the client can read the answer.
const DRAIN_AFTER_REJECT_MS = 1000;
// What a client told to wait (503) is asked to wait, in seconds.
const RETRY_AFTER_SECONDS = '10';

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const budget = new BodyBudget(Math.max(limit, options.bufferBudgetBytes ?? DEFAULT_BUFFER_BUDGET_BYTES));
  const readTimeoutMs = options.readTimeoutMs ?? 30_000;
  const headersTimeoutMs = Math.min(options.headersTimeoutMs ?? 10_000, readTimeoutMs);
  const closeGraceMs = options.closeGraceMs ?? 10_000;
  const origin = options.secretsOrigin ?? 'the webhook Secret';
  const log = options.log.child({ component: 'webhook' });
  const { webhookRequests, refreshRequests } = options.metrics;
  const queue = new RefreshQueue(
    async (app) => {
      try {
        await options.refresh(app);
        refreshRequests.inc({ result: 'ok' });
      } catch (error) {
        refreshRequests.inc({ result: 'error' });
        throw error;
      }
    },
    options.refreshConcurrency ?? 8,
    options.maxQueuedRefreshes ?? 10_000,
  );
  let closing = false;

  const reply = (res: ServerResponse, status: number, body: JsonReply, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...(closing ? { Connection: 'close' } : {}),
      ...headers,
    });
    res.end(text);
  };

  /**
   * Answers at once, then reads and discards the rest for a moment: a client still
   * sending would otherwise see a broken pipe instead of the answer. A body that has
   * not ended by then is cut off; one that has leaves a usable keep-alive connection.
   */
  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, body: JsonReply, headers: Record<string, string> = {}) => {
    reply(res, status, body, headers);
    req.removeAllListeners('data');
    req.resume();
    const cut = setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, DRAIN_AFTER_REJECT_MS);
    cut.unref();
    // Listeners on the request, not on the (keep-alive, reused) socket.
    req.once('close', () => clearTimeout(cut));
  };

  const rejectTooLarge = (req: IncomingMessage, res: ServerResponse, provider: string) => {
    webhookRequests.inc({ provider, result: 'too_large' });
    log.warn('webhook body too large; rejected', { limitBytes: limit, declaredBytes: req.headers['content-length'], remote: req.socket.remoteAddress });
    refuse(req, res, 413, { message: `request body exceeds the limit of ${limit} bytes` });
  };

  const rejectBusy = (req: IncomingMessage, res: ServerResponse, provider: string) => {
    webhookRequests.inc({ provider, result: 'busy' });
    log.warn('webhook buffer budget full; the largest body in flight was refused', {
      provider,
      budgetBytes: budget.capacityBytes,
      remote: req.socket.remoteAddress,
    });
    refuse(req, res, 503, { message: 'too many webhook bodies in flight; retry later' }, { 'Retry-After': RETRY_AFTER_SECONDS });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?', 1)[0];
    const provider = path === WEBHOOK_PATH && req.method === 'POST' ? providerLabel(req) : 'unknown';
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return rejectTooLarge(req, res, provider);
    if (path !== WEBHOOK_PATH || req.method !== 'POST') {
      // Read to the end without keeping it: the keep-alive connection stays usable.
      if (!(await discardBody(req))) return;
      if (path !== WEBHOOK_PATH) return reply(res, 404, { message: `not found: webhooks are received at POST ${WEBHOOK_PATH}` });
      return reply(res, 405, { message: `method ${req.method} not allowed: use POST` }, { Allow: 'POST' });
    }
    // One snapshot of the secrets for the header checks, the streamed HMAC and the decision.
    const secrets = options.secrets();
    const checked = checkHeaders(req.headers, secrets, origin);
    if (!checked.ok) {
      webhookRequests.inc({ provider: checked.decision.provider, result: checked.decision.result });
      logDecision(checked.decision, req);
      return refuse(req, res, checked.decision.status, { message: checked.decision.message });
    }
    const hmacSecret = checked.provider.credential.kind === 'hmac-sha256' ? checked.secret : undefined;
    const reading = readBody(req, { limitBytes: limit, budget, hmacSecret });
    const read = await reading.outcome;
    if (read.kind === 'too_large') return rejectTooLarge(req, res, provider);
    if (read.kind === 'busy') return rejectBusy(req, res, provider);
    if (read.kind === 'aborted') return;
    let decision: WebhookDecision;
    try {
      decision = decideWebhook({ headers: req.headers, body: read.body, bodyHmac: read.hmac }, secrets, options.listApplications, origin);
    } finally {
      reading.done();
    }
    webhookRequests.inc({ provider: decision.provider, result: decision.result });
    logDecision(decision, req);
    if (decision.result !== 'accepted') return reply(res, decision.status, { message: decision.message });
    const apps = decision.applications ?? [];
    if (!queue.hasRoomFor(apps.length)) {
      log.warn('too many refreshes waiting; push rejected', { provider: decision.provider, applications: apps.length });
      return reply(res, 503, { message: 'too many refreshes waiting; retry later' }, { 'Retry-After': '10' });
    }
    for (const entry of decision.pushes ?? []) void refreshAndLog(entry.push, entry.applications);
    reply(res, 202, { message: decision.message, applications: apps.map((app) => `${app.namespace}/${app.name}`) });
  };

  const logDecision = (decision: WebhookDecision, req: IncomingMessage) => {
    const fields = { provider: decision.provider, status: decision.status, remote: req.socket.remoteAddress };
    switch (decision.result) {
      case 'not_configured':
      case 'unauthorized':
        log.warn(decision.detail ?? decision.message, fields);
        break;
      case 'malformed':
        log.info(`webhook rejected: ${decision.message}`, fields);
        break;
      case 'error':
        log.error(`webhook failed: ${decision.detail ?? decision.message}`, fields);
        break;
      case 'ignored':
        log.debug(`webhook ignored: ${decision.message}`, fields);
        break;
      default:
        break;
    }
  };

  // One line per pushed ref, once its refreshes settled: repo, revision and the apps
  // refreshed, the information Argo CD logs for its own webhook.
  const refreshAndLog = async (push: PushEvent, apps: ApplicationRef[]) => {
    const outcome = await queue.refreshAll(apps);
    const name = (app: ApplicationRef) => `${app.namespace}/${app.name}`;
    const refreshed = outcome.refreshed.map(name);
    const touchedHead = push.defaultBranch === undefined ? undefined : !push.isTag && push.revision === push.defaultBranch;
    const summary =
      `Received push event repo: ${push.repoURLs[0]}, revision: ${push.revision}` +
      `${push.isTag ? ' (tag)' : ''}${touchedHead === undefined ? '' : `, touchedHead: ${touchedHead}`}; ` +
      (apps.length === 0 ? 'no application matched' : `refreshed ${refreshed.length} app(s)${refreshed.length ? `: ${refreshed.join(', ')}` : ''}`);
    const fields = {
      provider: push.provider,
      repo: push.repoURLs[0],
      repoURLs: push.repoURLs,
      revision: push.revision,
      isTag: push.isTag,
      touchedHead,
      before: push.before,
      after: push.after,
      refreshed,
      failed: outcome.failed.map((failure) => ({ app: name(failure.app), error: failure.error })),
    };
    if (outcome.failed.length > 0) log.warn(`${summary}; ${outcome.failed.length} refresh(es) failed`, fields);
    else log.info(summary, fields);
  };

  const server = createServer(
    {
      requestTimeout: readTimeoutMs,
      headersTimeout: headersTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      // Node checks the two timeouts above on this interval; the default (30 s) is too lax.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeoutMs / 2))),
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        log.error('webhook request failed', { error: errorMessage(error) });
        reply(res, 500, { message: 'internal error while handling the webhook' });
      });
    },
  );
  // Clients that send `Expect: 100-continue` learn about an oversized or unsigned body before sending it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      webhookRequests.inc({ provider: providerLabel(req), result: 'too_large' });
      reply(res, 413, { message: `request body exceeds the limit of ${limit} bytes` }, { Connection: 'close' });
      return;
    }
    const checked = (req.url ?? '').split('?', 1)[0] === WEBHOOK_PATH && req.method === 'POST' ? checkHeaders(req.headers, options.secrets(), origin) : undefined;
    if (checked && !checked.ok) {
      webhookRequests.inc({ provider: checked.decision.provider, result: checked.decision.result });
      logDecision(checked.decision, req);
      reply(res, checked.decision.status, { message: checked.decision.message }, { Connection: 'close' });
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });

  const port = await listen(server, 'webhook receiver', options.port, options.host);
  server.on('error', (error) => log.error('webhook server error', { error }));
  log.info('webhook receiver listening', { port, path: WEBHOOK_PATH, bodyLimitBytes: limit, bufferBudgetBytes: budget.capacityBytes });

  const closeServer = gracefulClose(server, { graceMs: closeGraceMs, alsoWaitFor: () => queue.drained() });
  return {
    port,
    idle: () => queue.drained(),
    bufferedBytes: () => budget.bytes,
    close() {
      closing = true;
      return closeServer();
    },
  };
}

/** The provider label for requests rejected before they were verified. */
function providerLabel(req: IncomingMessage): string {
  return detectProvider(req.headers)?.name ?? 'unknown';
}
