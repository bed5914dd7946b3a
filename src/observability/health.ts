// Liveness and readiness probes. /healthz answers 200 while the process serves
// HTTP at all; /readyz answers 200 only once isReady() says so (informers synced),
// and 503 with the reason otherwise, so `kubectl describe pod` shows why.
import { errorMessage } from '../errors.js';
import type { Logger } from './logger.js';
import { sendText, startReadOnlyServer, type RunningServer } from './server.js';

export type Readiness = boolean | { ready: boolean; reason?: string };
export type ReadinessCheck = () => Readiness;

export interface HealthServerOptions {
  port: number;
  host?: string;
  isReady: ReadinessCheck;
  log: Logger;
}

/** Normalises what a readiness check returned; a check that throws means not ready. */
export function evaluateReadiness(isReady: ReadinessCheck): { ready: boolean; reason: string } {
  let answer: Readiness;
  try {
    answer = isReady();
  } catch (error) {
    return { ready: false, reason: `readiness check failed: ${errorMessage(error)}` };
  }
  if (typeof answer === 'boolean') return { ready: answer, reason: answer ? 'ok' : 'not ready' };
  const ready = answer.ready === true;
  return { ready, reason: answer.reason ?? (ready ? 'ok' : 'not ready') };
}

export function startHealthServer(options: HealthServerOptions): Promise<RunningServer> {
  let wasReady: boolean | undefined;
  return startReadOnlyServer({
    name: 'health',
    port: options.port,
    host: options.host,
    log: options.log,
    routes: {
      '/healthz': (_request, response) => sendText(response, 200, 'ok\n'),
      '/readyz': (_request, response) => {
        const { ready, reason } = evaluateReadiness(options.isReady);
        // Log transitions only: probes arrive every few seconds.
        if (ready !== wasReady) options.log.info(ready ? 'ready' : 'not ready', { reason });
        wasReady = ready;
        if (ready) sendText(response, 200, 'ok\n');
        else sendText(response, 503, `not ready: ${errorMessage(reason)}\n`);
      },
    },
  });
}
