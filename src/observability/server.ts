// Small read-only HTTP servers for probes and scraping. Each has its own port, GET
// (and HEAD) only, no request bodies, tight timeouts, and a close() that lets
// in-flight responses finish before it drops the remaining connections.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { errorMessage } from '../errors.js';
import { gracefulClose, listen } from '../http-server.js';
import type { Logger } from './logger.js';

export interface RunningServer {
  /** The port actually bound (differs from the requested one when that was 0). */
  readonly port: number;
  /** Stops accepting connections, waits for in-flight responses (bounded), then closes. */
  close(): Promise<void>;
}

/** Answers one GET; what it writes is the whole response. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface ReadOnlyServerOptions {
  /** Used in log lines and error messages, e.g. "metrics". */
  name: string;
  port: number;
  /** Interface to bind; all interfaces when omitted (what a pod needs). */
  host?: string;
  routes: Record<string, RouteHandler>;
  log: Logger;
  /** How long close() waits for in-flight responses before cutting connections. */
  closeGraceMs?: number;
}

export { ServerStartError } from '../http-server.js';

// Probes and scrapes are tiny: anything slower than this is a stuck client.
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/** Writes a complete plain-text response (headers only for HEAD). */
export function sendText(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export async function startReadOnlyServer(options: ReadOnlyServerOptions): Promise<RunningServer> {
  const log = options.log.child({ server: options.name });
  const allow = 'GET, HEAD';

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      // Do not read a body we will not use; close so the client cannot stream one in.
      sendText(response, 405, `method ${request.method ?? '?'} not allowed; use GET\n`, { allow, connection: 'close' });
      return;
    }
    if (hasBody(request)) {
      sendText(response, 413, 'request body not accepted\n', { connection: 'close' });
      return;
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = Object.hasOwn(options.routes, path) ? options.routes[path] : undefined;
    if (!route) {
      sendText(response, 404, `not found: ${path}; try ${Object.keys(options.routes).join(', ')}\n`);
      return;
    }
    await route(request, response);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.error('request failed', { path: request.url, error });
      if (!response.headersSent) sendText(response, 500, `internal error: ${errorMessage(error)}\n`);
      else response.destroy();
    });
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxHeadersCount = 50;
  server.setTimeout(IDLE_SOCKET_TIMEOUT_MS, (socket) => socket.destroy());

  const port = await listen(server, `${options.name} server`, options.port, options.host);
  server.on('error', (error) => log.error('server error', { error }));
  server.on('clientError', (error, socket) => {
    // Malformed requests and header timeouts: answer if possible, never crash.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
    log.debug('client error', { error });
  });

  log.info(`${options.name} server listening`, { host: options.host ?? '*', port });

  const closeServer = gracefulClose(server, { graceMs: options.closeGraceMs ?? 5_000 });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= closeServer().then(() => log.info(`${options.name} server closed`)));
  return { port, close };
}

export interface MetricsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  log: Logger;
}

/** Serves the registry in the Prometheus text format on /metrics. */
export function startMetricsServer(options: MetricsServerOptions): Promise<RunningServer> {
  return startReadOnlyServer({
    name: 'metrics',
    port: options.port,
    host: options.host,
    log: options.log,
    routes: {
      '/metrics': async (_request, response) => {
        const body = await options.registry.metrics();
        sendText(response, 200, body, { 'content-type': options.registry.contentType });
      },
    },
  });
}
