// What every herald HTTP server shares: listening with an error that names the server
// and the address, and a graceful close that lets in-flight work finish (bounded).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeraldError } from './errors.js';

/** Listening failed (port in use, permission, bad address). */
export class ServerStartError extends HeraldError {}

/** Binds `server` and resolves with the port actually bound (0 picks a free one). */
export function listen(server: Server, name: string, port: number, host: string | undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new ServerStartError(`${name} cannot listen on ${host ?? '*'}:${port}: ${error.code ?? error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export interface CloseOptions {
  /** How long to wait for in-flight requests (and `alsoWaitFor`) before cutting connections. */
  graceMs: number;
  /** More work to let finish within the grace period, e.g. background refreshes. */
  alsoWaitFor?: () => Promise<void>;
}

/**
 * A close() for `server`, idempotent: stop accepting, drop idle keep-alive connections,
 * wait for in-flight requests for at most `graceMs`, then cut what is left.
 */
export function gracefulClose(server: Server, options: CloseOptions): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.graceMs)));
      await Promise.race([Promise.all([stopped, options.alsoWaitFor?.()]), deadline]);
      clearTimeout(timer);
      server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };
}
