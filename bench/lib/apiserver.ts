// Writes counted by the API server itself (apiserver_request_total), so that the
// operators' API cost per notification is measured the same way for both, whatever
// their own counters say. The bench subtracts its own writes.
import { request } from 'node:https';
import type { ControlPlane } from '../../test/support/controlplane/controlplane.js';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION', 'APPLY']);

export interface WriteCounts {
  total: number;
  /** By resource (events, applications, leases, …), all API groups together. */
  byResource: Record<string, number>;
}

/** Sums the write verbs of apiserver_request_total lines in a /metrics text. */
export function countWrites(metricsText: string): WriteCounts {
  const byResource: Record<string, number> = {};
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = line.slice('apiserver_request_total{'.length, close);
    const verb = /(?:^|,)verb="([^"]*)"/.exec(labels)?.[1] ?? '';
    if (!WRITE_VERBS.has(verb)) continue;
    const resource = /(?:^|,)resource="([^"]*)"/.exec(labels)?.[1] || 'other';
    const value = Number(line.slice(close + 1).trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    total += value;
    byResource[resource] = (byResource[resource] ?? 0) + value;
  }
  return { total, byResource };
}

/** after − before, per resource (resources that did not move are left out). */
export function writesBetween(before: WriteCounts, after: WriteCounts): WriteCounts {
  const byResource: Record<string, number> = {};
  for (const [resource, value] of Object.entries(after.byResource)) {
    const moved = value - (before.byResource[resource] ?? 0);
    if (moved !== 0) byResource[resource] = moved;
  }
  return { total: after.total - before.total, byResource };
}

export function scrapeApiserverWrites(cp: ControlPlane): Promise<WriteCounts> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.server}/metrics`,
      { ca: cp.pki.caCert, cert: cp.pki.adminCert, key: cp.pki.adminKey, timeout: 30_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(countWrites(body)) : reject(new Error(`kube-apiserver /metrics answered ${res.statusCode}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('kube-apiserver /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
}
