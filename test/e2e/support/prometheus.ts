// A real Prometheus (built from its Go module with Kubernetes service discovery: Debian's
// package has none) for the e2e cluster, configured from what herald ships:
// the ServiceMonitor in config/prometheus/monitor.yaml becomes the scrape job the
// Prometheus Operator would generate for it (kubernetes_sd_configs, role endpoints,
// the same selector, port name, path and honorLabels), and the PrometheusRule's groups
// are loaded as they are, except for the time-scaled test overlay (rulesOverlay).
import { type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { resolvePrometheus } from '../../support/controlplane/binaries.js';
import { repoRoot } from '../../support/controlplane/install.js';
import { freePort } from '../../support/net.js';
import { spawnTied, terminate } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

interface ServiceMonitor {
  metadata: { name: string; namespace: string };
  spec: {
    selector: { matchLabels?: Record<string, string> };
    namespaceSelector?: { matchNames?: string[] };
    endpoints: Array<{ port: string; path?: string; interval?: string; scrapeTimeout?: string; honorLabels?: boolean; scheme?: string }>;
  };
}

interface RuleGroup {
  name: string;
  rules: Array<{ alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }>;
}

/** Kubernetes' label name as Prometheus' service discovery spells it in meta labels. */
const metaName = (label: string) => label.replace(/[^a-zA-Z0-9_]/g, '_');

const escapeRegex = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function loadServiceMonitor(file = join(repoRoot, 'config/prometheus/monitor.yaml')): ServiceMonitor {
  return parse(readFileSync(file, 'utf8')) as ServiceMonitor;
}

export function loadRuleGroups(file = join(repoRoot, 'config/prometheus/rules.yaml')): RuleGroup[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJS() as { kind: string; spec: { groups: RuleGroup[] } });
  return docs.filter((doc) => doc.kind === 'PrometheusRule').flatMap((doc) => doc.spec.groups);
}

/** Seconds of a Prometheus duration (only the units the shipped files use). */
export function durationSeconds(text: string): number {
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(value) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
  }
  return total;
}

const seconds = (value: number) => `${Math.max(1, Math.round(value))}s`;

/**
 * The test overlay: every duration in the rules (each `for:` and each range window in
 * an expression) divided by `factor`, and nothing else changed, so that alerts meant to
 * wait 15 minutes wait 30 s. The shipped rules stay as they are.
 */
export function rulesOverlay(groups: RuleGroup[], factor: number): RuleGroup[] {
  const scale = (duration: string) => seconds(durationSeconds(duration) / factor);
  return groups.map((group) => ({
    ...group,
    rules: group.rules.map((rule) => ({
      ...rule,
      expr: rule.expr.replace(/\[(\d+(?:ms|s|m|h|d))+\]/g, (window) => `[${scale(window.slice(1, -1))}]`),
      ...(rule.for !== undefined ? { for: durationSeconds(rule.for) === 0 ? rule.for : scale(rule.for) } : {}),
    })),
  }));
}

/** The scrape job the Prometheus Operator generates for a ServiceMonitor endpoint. */
export function scrapeJobs(
  monitor: ServiceMonitor,
  kubernetes: { apiServer: string; caFile: string; tokenFile: string },
  factor: number,
): Array<Record<string, unknown>> {
  const namespaces = monitor.spec.namespaceSelector?.matchNames ?? [monitor.metadata.namespace];
  return monitor.spec.endpoints.map((endpoint, index) => {
    const interval = durationSeconds(endpoint.interval ?? '30s') / factor;
    const timeout = Math.min(durationSeconds(endpoint.scrapeTimeout ?? '10s') / factor, interval);
    return {
      job_name: `serviceMonitor/${monitor.metadata.namespace}/${monitor.metadata.name}/${index}`,
      honor_labels: endpoint.honorLabels ?? false,
      scrape_interval: seconds(interval),
      scrape_timeout: seconds(timeout),
      metrics_path: endpoint.path ?? '/metrics',
      scheme: endpoint.scheme ?? 'http',
      kubernetes_sd_configs: [
        {
          role: 'endpoints',
          api_server: kubernetes.apiServer,
          namespaces: { names: namespaces },
          tls_config: { ca_file: kubernetes.caFile },
          authorization: { credentials_file: kubernetes.tokenFile },
        },
      ],
      relabel_configs: [
        ...Object.entries(monitor.spec.selector.matchLabels ?? {}).map(([label, value]) => ({
          source_labels: [`__meta_kubernetes_service_label_${metaName(label)}`, `__meta_kubernetes_service_labelpresent_${metaName(label)}`],
          regex: `(${escapeRegex(value)});true`,
          action: 'keep',
        })),
        { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: escapeRegex(endpoint.port), action: 'keep' },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
        { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
        { target_label: 'endpoint', replacement: endpoint.port },
      ],
    };
  });
}

export interface PrometheusServer {
  url: string;
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Prometheus' clock, in seconds since the epoch. */
  now(): Promise<number>;
  targets(): Promise<Array<{ labels: Record<string, string>; health: string; scrapeUrl: string; lastError: string; discoveredLabels: Record<string, string> }>>;
  alerts(): Promise<Array<{ labels: Record<string, string>; state: string; activeAt: string; value: string }>>;
  stop(): Promise<void>;
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        try {
          const parsed = JSON.parse(body) as { status: string; data: unknown; error?: string };
          if (parsed.status !== 'success') reject(new Error(`${url}: ${parsed.error ?? body}`));
          else resolve(parsed.data);
        } catch (error) {
          reject(new Error(`${url} answered ${res.statusCode}: ${body.slice(0, 300)}`, { cause: error }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

export async function startPrometheus(options: {
  dir: string;
  apiServer: string;
  caFile: string;
  tokenFile: string;
  /** How much faster than the shipped durations everything runs. */
  factor: number;
  evaluationInterval?: string;
}): Promise<PrometheusServer> {
  mkdirSync(options.dir, { recursive: true });
  const rulesFile = join(options.dir, 'herald-rules.yaml');
  writeFileSync(rulesFile, stringify({ groups: rulesOverlay(loadRuleGroups(), options.factor) }));
  const config = {
    global: { scrape_interval: '5s', evaluation_interval: options.evaluationInterval ?? '2s' },
    rule_files: [rulesFile],
    scrape_configs: scrapeJobs(loadServiceMonitor(), options, options.factor),
  };
  const configFile = join(options.dir, 'prometheus.yaml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const out = createWriteStream(join(options.dir, 'prometheus.log'));
  const child: ChildProcess = spawnTied(resolvePrometheus().path, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(options.dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const api = (path: string) => getJson(`${url}${path}`);
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${readFileSync(join(options.dir, 'prometheus.log'), 'utf8').slice(-2000)}`);
    try {
      await api('/api/v1/status/buildinfo');
      return true;
    } catch {
      return false;
    }
  }, 'Prometheus to answer', 60_000);
  return {
    url,
    async query(expr) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      return data.result;
    },
    async now() {
      const data = (await api('/api/v1/query?query=time()')) as { result: [number, string] };
      return data.result[0];
    },
    async targets() {
      const data = (await api('/api/v1/targets?state=active')) as { activeTargets: Awaited<ReturnType<PrometheusServer['targets']>> };
      return data.activeTargets;
    },
    async alerts() {
      const data = (await api('/api/v1/alerts')) as { alerts: Awaited<ReturnType<PrometheusServer['alerts']>> };
      return data.alerts;
    },
    stop: () => terminate(child, 10_000),
  };
}
