// The user documentation against a real API server (docs/README.md, "How the docs
// stay true"): every YAML manifest block passes a strict server-side dry-run apply
// against herald's CRDs (with their CEL rules), kustomizations are built first, and
// every `kubectl …` line passes kubectl's own flag parsing and, where it is safe,
// runs: apply/create/patch/annotate/label as a server-side dry-run, get/explain for
// real. Lines run block by block in a scratch checkout, after the offline herald lines
// before them (so `herald import … -o notifications/` feeds `kubectl apply -f notifications/`).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { testCluster } from '../support/cluster.js';
import { repoRoot } from '../support/controlplane/install.js';
import {
  checkBlockLines,
  commandWords,
  flagValues,
  isPlaceholder,
  runHeraldLine,
  runsOffline,
  scratchCheckout,
  shellBlocks,
  type Workdir,
} from '../support/docs/checks.js';
import { codeBlocks, docFiles, shellWords, YAML_LANGS, type CodeBlock } from '../support/docs/markdown.js';

const cluster = testCluster();
const blocks: CodeBlock[] = docFiles().flatMap((file) => codeBlocks(file));
const where = (b: { file: string; line: number }) => `${b.file}:${b.line}`;

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  resources?: string[];
}

const ensured = new Set<string>();
function ensureNamespace(name: string): void {
  if (ensured.has(name) || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return;
  ensured.add(name);
  cluster.kubectlOrThrow(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
}

test.before(() => {
  // The default installation includes a ServiceMonitor and a PrometheusRule.
  cluster.kubectlOrThrow(['apply', '-f', join(repoRoot, 'test/support/crds/monitoring-coreos.yaml')]);
  cluster.kubectlOrThrow(['wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
  ensureNamespace('argocd');
});

/** Builds a Kustomization block in a scratch tree where `../herald` is this repository; returns the rendered YAML. */
function renderKustomization(block: CodeBlock): { status: number; yaml: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-docs-kustomize-'));
  try {
    symlinkSync(repoRoot, join(dir, 'herald'));
    const name = /^#\s*([\w.-]+)\/kustomization\.ya?ml/m.exec(block.text)?.[1] ?? 'overlay';
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'kustomization.yaml'), block.text);
    const result = cluster.kubectl(['kustomize', join(dir, name)]);
    return { status: result.status, yaml: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Strict server-side dry-run of a manifest text; namespaces it names are created first. */
function dryRunApply(yaml: string): { status: number; stdout: string; stderr: string } {
  const objects = parseAllDocuments(yaml).map((doc) => doc.toJS() as Manifest | null).filter((o): o is Manifest => o !== null);
  for (const object of objects) if (object.metadata?.namespace) ensureNamespace(object.metadata.namespace);
  const everyNamespaceless = objects.every((object) => !object.metadata?.namespace);
  return cluster.kubectl(['apply', '--dry-run=server', '--validate=strict', ...(everyNamespaceless ? ['-n', 'argocd'] : []), '-f', '-'], yaml);
}

test('every YAML manifest block passes `kubectl apply --dry-run=server --validate=strict`; partial blocks are marked and counted', (t) => {
  let applied = 0;
  let kustomizations = 0;
  let partial = 0;
  for (const block of blocks.filter((b) => YAML_LANGS.has(b.lang))) {
    if (block.partial) {
      partial++;
      continue;
    }
    const first = parseAllDocuments(block.text)[0]?.toJS() as Manifest | undefined;
    let yaml = block.text;
    if (first?.kind === 'Kustomization' && first.apiVersion?.startsWith('kustomize.config.k8s.io/')) {
      const rendered = renderKustomization(block);
      t.is(rendered.status, 0, `${where(block)}: kubectl kustomize failed: ${rendered.stderr}`);
      yaml = rendered.yaml;
      kustomizations++;
    }
    const result = dryRunApply(yaml);
    applied++;
    t.is(result.status, 0, `${where(block)}:\n${result.stderr}`);
    t.regex(result.stdout, /\(server dry run\)/, where(block));
  }
  t.log(`${applied} manifest blocks applied (${kustomizations} kustomizations built first), ${partial} partial blocks`);
  t.true(applied >= 10, `${applied}`);
});

test('the dry-run rejects what the API server would reject (so the check above can fail)', (t) => {
  const bad = `apiVersion: herald.gitops.dev/v1alpha1
kind: DingTalkChannel
metadata:
  name: docs-negative
  namespace: argocd
spec:
  webhook:
    urlSecretRef: {name: robot, key: url}
  keywords: [ArgoCD]
  rateLimits: {perMinute: 20}
`;
  const unknownField = dryRunApply(bad);
  t.not(unknownField.status, 0);
  t.regex(unknownField.stderr, /rateLimits/);
  const celRule = dryRunApply(bad.replace('  rateLimits: {perMinute: 20}\n', '  app: {robotCode: x}\n'));
  t.not(celRule.status, 0);
  t.regex(celRule.stderr, /exactly one of spec.webhook/);
});

/** kubectl words of a line with `--dry-run=server` added where the verb changes something. */
const MUTATING = new Set(['apply', 'create', 'patch', 'annotate', 'label']);
const READING = new Set(['get', 'explain', 'describe']);

function verbOf(words: string[]): string | undefined {
  // Skip global flags before the verb (`kubectl -n argocd rollout …`).
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word === '-n' || word === '--namespace' || word === '--kubeconfig' || word === '--context') {
      i++;
      continue;
    }
    if (!word.startsWith('-')) return word;
  }
  return undefined;
}

function withDryRun(words: string[]): string[] {
  return words.some((w) => w.startsWith('--dry-run')) ? words : [...words, '--dry-run=server'];
}

/** Runs a pipeline of kubectl commands as written, passing stdout along; cwd = the scratch checkout. */
function runKubectlPipeline(segments: string[][], workdir: Workdir): { status: number; stdout: string; stderr: string } {
  let input: string | undefined;
  let last = { status: 0, stdout: '', stderr: '' };
  for (const words of segments) {
    const result = spawnSync(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, ...words.slice(1)], {
      cwd: workdir.dir,
      input,
      encoding: 'utf8',
      timeout: 120_000,
    });
    last = { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
    if (last.status !== 0) return last;
    input = last.stdout;
  }
  return last;
}

/** `<name>` as a word of its own (a name or namespace to fill in), not inside a value like `url=…<token>`. */
const standalonePlaceholder = (word: string) => /^</.test(word) || /^[^=<{]*>$/.test(word);

const notFound = (stderr: string) => /NotFound|not found/.test(stderr) && !/the server doesn't have a resource type/.test(stderr);

test('every kubectl line parses with kubectl itself; apply/create/patch/annotate/label pass a server-side dry-run, get/explain run', async (t) => {
  const counts = { help: 0, dryRun: 0, read: 0, heraldFirst: 0 };
  for (const block of shellBlocks(blocks)) {
    const workdir = scratchCheckout();
    try {
      // Lines of one logical shell line (a pipeline) share their text and line number.
      const checks = checkBlockLines(block);
      const handled = new Set<string>();
      for (const check of checks) {
        const words = commandWords(check.line.words);
        if (words[0] === 'herald' && runsOffline(words, workdir) && !check.line.text.includes('$?')) {
          const result = await runHeraldLine(check.line, workdir);
          counts.heraldFirst++;
          t.is(result.status, 0, `${where(check.line)}: ${check.line.text}\n${result.stderr}`);
          continue;
        }
        if (words[0] !== 'kubectl') continue;
        // 1. kubectl's own parsing: the verb and every flag exist.
        const help = cluster.kubectl([...words.slice(1), '--help']);
        counts.help++;
        t.is(help.status, 0, `${where(check.line)}: ${check.line.text}\n${help.stderr}`);
        const key = `${check.line.line}\u0000${check.line.text}`;
        if (handled.has(key)) continue;
        handled.add(key);
        // 2. Run it, when that is safe here.
        const pipeline = shellWords(check.line.text).map(commandWords);
        const allKubectl = pipeline.every((segment) => segment[0] === 'kubectl');
        const verbs = pipeline.map(verbOf);
        if (!allKubectl || pipeline.some((segment) => segment.some(standalonePlaceholder))) continue;
        if (verbs.every((verb) => verb !== undefined && (MUTATING.has(verb) || READING.has(verb)))) {
          for (const segment of pipeline) for (const ns of flagValues(segment, ['-n', '--namespace'])) if (!isPlaceholder(ns)) ensureNamespace(ns);
          const segments = pipeline.map((segment, i) => (MUTATING.has(verbs[i]!) ? withDryRun(segment) : segment));
          const result = runKubectlPipeline(segments, workdir);
          if (verbs.some((verb) => MUTATING.has(verb!))) counts.dryRun++;
          else counts.read++;
          t.true(result.status === 0 || notFound(result.stderr), `${where(check.line)}: ${segments.map((s) => s.join(' ')).join(' | ')}\n${result.stderr}`);
        }
      }
    } finally {
      workdir.dispose();
    }
  }
  t.log(`kubectl: ${counts.help} lines parsed by kubectl, ${counts.dryRun} run as server-side dry-runs, ${counts.read} read commands run; ${counts.heraldFirst} offline herald lines run before them`);
  t.true(counts.help >= 20 && counts.dryRun >= 8 && counts.read >= 3, JSON.stringify(counts));
});

test('the kubectl checks can fail: an unknown flag, an unknown resource type, a bad manifest path', (t) => {
  t.not(cluster.kubectl(['get', 'herald', '-A', '--bogus', '--help']).status, 0);
  const unknownType = cluster.kubectl(['get', 'notificationtrigers', '-n', 'argocd']);
  t.not(unknownType.status, 0);
  t.false(notFound(unknownType.stderr), unknownType.stderr);
  t.not(cluster.kubectl(['apply', '--dry-run=server', '-n', 'argocd', '-f', join(repoRoot, 'config/sample')]).status, 0);
});
