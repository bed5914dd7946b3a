// A thin JSON merge patch for herald's hot writes. client-node's generated clients
// route every call through ObjectSerializer and middleware, and the API server answers
// with the whole object (an Application is kilobytes) that herald reads only for its
// resourceVersion. Here the request goes out directly with the connection, headers and
// agent KubeConfig itself provides (applySecurityAuthentication: bearer, exec and
// refreshing tokens, client certificates, the keep-alive agent of KeepAliveKubeConfig),
// and asks for metadata only (PartialObjectMetadata); a server that cannot convert
// answers plain JSON, which is read the same way.
import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeRequestError } from './errors.js';

/** Metadata only where the server can convert, the full object otherwise. */
export const PARTIAL_METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const MERGE_PATCH = 'application/merge-patch+json';
const DEFAULT_TIMEOUT_MS = 30_000;

/** What herald reads from a patch answer (a PartialObjectMetadata, or the object itself). */
export interface PatchedObject {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
}

export interface MergePatchOptions {
  /** The whole request, connect to last byte of the answer. */
  timeoutMs?: number;
}

/**
 * PATCHes `path` (below the server URL, e.g. `/apis/argoproj.io/v1alpha1/namespaces/a/applications/b`)
 * with a JSON merge patch. Throws KubeApiError for an answer other than 2xx (`code`,
 * `body` as statusCodeOf and apiMessageOf read them) and KubeRequestError when no answer came.
 */
export async function mergePatch(kc: KubeConfig, path: string, body: unknown, options: MergePatchOptions = {}): Promise<PatchedObject> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new KubeRequestError(`PATCH ${path}: the kubeconfig has no current cluster`);
  const context = new RequestContext(`${server.replace(/\/+$/, '')}${path}`, HttpMethod.PATCH);
  try {
    await kc.applySecurityAuthentication(context);
  } catch (error) {
    throw new KubeRequestError(`PATCH ${path}: cannot authenticate to the API server`, { cause: error });
  }
  const payload = Buffer.from(JSON.stringify(body));
  const headers: OutgoingHttpHeaders = {
    ...context.getHeaders(),
    'Content-Type': MERGE_PATCH,
    Accept: PARTIAL_METADATA_ACCEPT,
    'Content-Length': payload.length,
  };
  const answer = await send(new URL(context.getUrl()), headers, payload, context.getAgent() as HttpAgent | undefined, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, path);
  if (answer.status < 200 || answer.status >= 300) throw new KubeApiError(answer.status, answer.body, `PATCH ${path}`);
  try {
    return JSON.parse(answer.body) as PatchedObject;
  } catch (error) {
    throw new KubeRequestError(`PATCH ${path}: the API server's answer (HTTP ${answer.status}) is not JSON`, { cause: error });
  }
}

function send(url: URL, headers: OutgoingHttpHeaders, payload: Buffer, agent: HttpAgent | undefined, timeoutMs: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, { method: 'PATCH', headers, agent });
    const timer = setTimeout(() => {
      request.destroy(new KubeRequestError(`PATCH ${path}: no answer from the API server within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error instanceof KubeRequestError ? error : new KubeRequestError(`PATCH ${path}: ${error.message}`, { cause: error }));
    };
    request.on('error', fail);
    request.on('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.end(payload);
  });
}
