// config/samples/ is what users apply first: every manifest must be valid, every
// trigger and template must compile, and together they must tell the classic story
// of a sync right.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { DingTalkChannel, NotificationTemplate, NotificationTrigger } from '../../src/api/generated.js';
import { HERALD_API_VERSION } from '../../src/api/groups.js';
import { compileTemplate, formatTemplateErrors, initiatorOf, renderTemplate, type CompiledTemplate } from '../../src/templates/index.js';
import { compileTrigger, evaluateTrigger, formatTriggerErrors, type CompiledTrigger } from '../../src/triggers/index.js';
import { repoRoot } from '../support/controlplane/install.js';
import { addSeconds, buildApp, REVISIONS, type AppOptions } from '../support/fixtures/apps.js';

const samplesDir = join(repoRoot, 'config/samples');
const files = readdirSync(samplesDir).sort();
const manifests = files
  .filter((f) => /\.(ya?ml|json)$/.test(f))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(samplesDir, f), 'utf8'))
      .map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors[0]?.message}`);
        return doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown } | null;
      })
      .filter((m): m is NonNullable<typeof m> => m !== null)
      .map((m) => ({ file: f, manifest: m })),
  );
const ofKind = <T>(kind: string) => manifests.filter((m) => m.manifest.kind === kind).map((m) => m.manifest as unknown as T);

const triggers = ofKind<NotificationTrigger>('NotificationTrigger');
const templates = ofKind<NotificationTemplate>('NotificationTemplate');
const channels = ofKind<DingTalkChannel>('DingTalkChannel');

function compiledTriggers(): Map<string, CompiledTrigger> {
  const out = new Map<string, CompiledTrigger>();
  for (const trigger of triggers) {
    const result = compileTrigger(trigger.spec);
    if (!result.ok) throw new Error(`${trigger.metadata.name}: ${formatTriggerErrors(result.errors)}`);
    out.set(trigger.metadata.name!, result.trigger);
  }
  return out;
}

function compiledTemplate(name: string): CompiledTemplate {
  const template = templates.find((t) => t.metadata.name === name);
  if (!template) throw new Error(`no template ${name}`);
  const result = compileTemplate(template.spec);
  if (!result.ok) throw new Error(`${name}: ${formatTemplateErrors(result.errors)}`);
  return result.template;
}

test('the folder holds only manifests kubectl can apply, namespace-less and with herald kinds', (t) => {
  t.false(files.some((f) => /^kustomization\.ya?ml$/i.test(f)), 'kubectl apply -f config/samples/ must not meet a kustomization');
  t.true(manifests.length > 0);
  for (const { file, manifest } of manifests) {
    t.truthy(manifest.metadata?.name, `${file}: metadata.name`);
    t.is(manifest.metadata.namespace, undefined, `${file}: ${manifest.metadata.name} must not pin a namespace`);
    if (manifest.kind === 'Secret') t.is(manifest.apiVersion, 'v1');
    else t.is(manifest.apiVersion, HERALD_API_VERSION, `${file}: ${manifest.kind}`);
  }
  const names = manifests.map((m) => `${m.manifest.kind}/${m.manifest.metadata.name}`);
  t.is(new Set(names).size, names.length, 'no duplicates');
});

test('the trigger catalog is complete and every expression compiles', (t) => {
  t.deepEqual(triggers.map((tr) => tr.metadata.name).sort(), [
    'on-created',
    'on-deleted',
    'on-deployed',
    'on-health-degraded',
    'on-health-recovered',
    'on-sync-failed',
    'on-sync-running',
    'on-sync-status-unknown',
    'on-sync-succeeded',
  ]);
  const compiled = compiledTriggers();
  t.is(compiled.size, triggers.length);
  for (const trigger of triggers) {
    t.truthy(trigger.spec.description, `${trigger.metadata.name} describes itself`);
    for (const condition of trigger.spec.conditions) t.true(condition.send.includes('app-sync-change'), trigger.metadata.name);
  }
  // Argo CD's catalog uses oncePer for these; herald keeps it.
  const oncePer = (name: string) => triggers.find((tr) => tr.metadata.name === name)?.spec.conditions[0]?.oncePer;
  for (const name of ['on-created', 'on-deleted', 'on-deployed', 'on-sync-failed', 'on-sync-succeeded']) t.truthy(oncePer(name), name);
  for (const name of ['on-health-degraded', 'on-health-recovered', 'on-sync-running', 'on-sync-status-unknown']) t.is(oncePer(name), undefined, name);
  t.regex(triggers.find((tr) => tr.metadata.name === 'on-health-recovered')?.spec.description ?? '', /notified\(/);
});

test('every template compiles, and every template a trigger sends exists', (t) => {
  for (const template of templates) t.true(compileTemplate(template.spec).ok, template.metadata.name);
  const names = new Set(templates.map((tm) => tm.metadata.name));
  for (const trigger of triggers) for (const c of trigger.spec.conditions) for (const s of c.send) t.true(names.has(s), `${trigger.metadata.name} sends ${s}`);
  const appSyncChange = templates.find((tm) => tm.metadata.name === 'app-sync-change');
  t.is(appSyncChange?.spec.dingtalk?.msgType, 'markdown');
  t.true(appSyncChange?.spec.dingtalk?.title?.includes('ArgoCD同步状态'));
  t.true(appSyncChange?.spec.dingtalk?.text?.includes('ArgoCD'));
});

test('the dingtalk-ops channel signs, has the ArgoCD keyword and a placeholder Secret', (t) => {
  const channel = channels.find((c) => c.metadata.name === 'dingtalk-ops');
  if (!channel) return t.fail('no DingTalkChannel dingtalk-ops');
  t.deepEqual(channel.spec.keywords, ['ArgoCD']);
  t.deepEqual(channel.spec.subscriptions, [{ triggers: ['on-sync-running', 'on-sync-succeeded', 'on-sync-failed', 'on-deployed'], selector: {} }]);
  const urlRef = channel.spec.webhook?.urlSecretRef;
  const signRef = channel.spec.webhook?.signSecretRef;
  const secret = manifests.find((m) => m.manifest.kind === 'Secret' && m.manifest.metadata.name === urlRef?.name)?.manifest as
    | { stringData?: Record<string, string> }
    | undefined;
  t.is(signRef?.name, urlRef?.name);
  t.is(secret?.stringData?.[urlRef!.key], 'https://oapi.dingtalk.com/robot/send?access_token=REPLACE_ME');
  t.is(secret?.stringData?.[signRef!.key], 'SECREPLACE_ME');
  for (const sub of channel.spec.subscriptions ?? []) for (const name of sub.triggers) t.true(triggers.some((tr) => tr.metadata.name === name), name);
});

/**
 * A stand-in for the engine's send decision, just enough to replay a story: with
 * oncePer a condition sends once per value; without, once per stretch of being true.
 * notified() answers from what this ledger recorded at earlier steps.
 */
class LedgerSimulator {
  private readonly sentOnce = new Set<string>();
  private readonly holding = new Set<string>();
  private readonly notified = new Map<string, number>();
  constructor(private readonly catalog: Map<string, CompiledTrigger>) {}

  step(app: object, now: Date): string[] {
    const decided: string[] = [];
    for (const [name, trigger] of this.catalog) {
      for (const result of evaluateTrigger(trigger, app, now, (t) => this.notified.get(t))) {
        const key = `${name}:${result.name}`;
        if (result.outcome === 'error') throw new Error(`${name}: ${result.error}`);
        if (!result.fired) {
          this.holding.delete(key);
          continue;
        }
        if (result.oncePer !== undefined) {
          if (this.sentOnce.has(`${result.oncePer}:${key}`)) continue;
          this.sentOnce.add(`${result.oncePer}:${key}`);
        } else {
          if (this.holding.has(key)) continue;
          this.holding.add(key);
        }
        decided.push(name);
      }
    }
    for (const name of decided) this.notified.set(name, Math.floor(now.getTime() / 1000));
    return decided.sort();
  }
}

test('the classic story: Running, Succeeded and Healthy, Degraded, Healthy again', (t) => {
  const ledger = new LedgerSimulator(compiledTriggers());
  const start = '2024-05-01T08:00:00Z';
  const at = (minutes: number) => new Date(addSeconds(start, minutes * 60));
  const app = (options: AppOptions) => buildApp({ name: 'checkout', namespace: 'shop', startedAt: start, revision: REVISIONS.second, ...options });

  const running = app({ phase: 'Running', syncStatus: 'OutOfSync', healthStatus: 'Progressing' });
  // on-created fires for an Application herald sees for the first time.
  t.deepEqual(ledger.step(running, at(0)), ['on-created', 'on-sync-running']);
  t.deepEqual(ledger.step(running, at(0.5)), [], 'nothing twice while nothing changes');

  const deployed = app({ phase: 'Succeeded', syncStatus: 'Synced', healthStatus: 'Healthy' });
  t.deepEqual(ledger.step(deployed, at(1)), ['on-deployed', 'on-sync-succeeded']);

  const degraded = app({ phase: 'Succeeded', syncStatus: 'Synced', healthStatus: 'Degraded', healthMessage: 'exceeded its progress deadline' });
  t.deepEqual(ledger.step(degraded, at(5)), ['on-health-degraded']);
  t.deepEqual(ledger.step(degraded, at(6)), []);

  t.deepEqual(ledger.step(deployed, at(10)), ['on-health-recovered'], 'same revision: no second on-deployed');
  t.deepEqual(ledger.step(deployed, at(11)), [], 'recovered once');

  t.deepEqual(ledger.step(degraded, at(20)), ['on-health-degraded'], 'degrading again notifies again');
  t.deepEqual(ledger.step(deployed, at(25)), ['on-health-recovered']);

  const nextRevision = app({ phase: 'Succeeded', revision: REVISIONS.third, startedAt: addSeconds(start, 1800) });
  t.deepEqual(ledger.step(app({ phase: 'Running', revision: REVISIONS.third, startedAt: addSeconds(start, 1800) }), at(30)), ['on-sync-running']);
  t.deepEqual(ledger.step(nextRevision, at(31)), ['on-deployed', 'on-sync-succeeded']);
});

test('failures, unknown sync status, deletion and multi-source revisions', (t) => {
  const ledger = new LedgerSimulator(compiledTriggers());
  const now = new Date('2024-05-01T09:00:00Z');
  ledger.step(buildApp({ phase: null }), now); // created, never synced
  t.deepEqual(ledger.step(buildApp({ phase: 'Failed' }), now), ['on-sync-failed']);
  t.deepEqual(ledger.step(buildApp({ phase: 'Failed' }), now), [], 'once per revision');
  const errored = buildApp({ phase: 'Error', revision: REVISIONS.third });
  delete errored.status.operationState.syncResult; // failed before syncing anything
  t.deepEqual(ledger.step(errored, now), ['on-sync-failed']);
  t.deepEqual(ledger.step(buildApp({ phase: null, syncStatus: 'Unknown' }), now), ['on-sync-status-unknown']);
  t.deepEqual(ledger.step(buildApp({ phase: null, deletionTimestamp: '2024-05-01T09:00:00Z' }), now), ['on-deleted']);

  const [deployed] = evaluateTrigger(
    compiledTriggers().get('on-deployed')!,
    buildApp({ sources: [{ repoURL: 'https://github.com/org/app.git' }, { repoURL: 'https://github.com/org/values.git' }] }),
    now,
  );
  t.deepEqual([deployed?.outcome, deployed?.oncePer], ['fired', `${REVISIONS.first},${REVISIONS.second}`]);
});

test('app-sync-change renders a DingTalk markdown message with the name, phase, Shanghai time and Argo CD link', (t) => {
  const template = compiledTemplate('app-sync-change');
  const app = buildApp({ name: 'checkout', namespace: 'shop', phase: 'Succeeded', startedAt: '2024-05-01T08:00:00Z', initiatedBy: 'alice' });
  const rendered = renderTemplate(template, {
    app: app as unknown as Record<string, unknown>,
    context: { argocdUrl: 'https://argocd.example.com' },
    trigger: 'on-deployed',
    channel: { name: 'dingtalk-ops', type: 'dingtalk' },
    notificationType: 'dingtalk',
    initiator: initiatorOf(app),
  });
  const dingtalk = rendered.dingtalk;
  t.is(dingtalk?.msgType, 'markdown');
  t.is(dingtalk?.title, 'ArgoCD同步状态: checkout Succeeded/Healthy');
  const text = dingtalk?.text ?? '';
  t.true(text.includes('ArgoCD'), 'the channel keyword');
  t.true(text.includes('checkout'));
  t.true(text.includes('Succeeded'));
  t.true(text.includes('2024-05-01 16:00:00'), '08:00 UTC is 16:00 in Asia/Shanghai');
  t.true(text.includes('](https://argocd.example.com/applications/shop/checkout)'));
  t.true(text.includes(REVISIONS.first.slice(0, 12)));
  t.true(text.includes('alice'));
  t.true(rendered.message?.includes('https://argocd.example.com/applications/shop/checkout'));
  t.false(/\n\n\n/.test(text), 'no runs of blank lines from template tags');

  const failed = renderTemplate(template, {
    app: buildApp({ phase: 'Failed', initiatedBy: 'automated', operationMessage: 'Deployment "web" is "invalid"\nsecond line' }) as unknown as Record<string, unknown>,
    context: { argocdUrl: 'https://argocd.example.com' },
    trigger: 'on-sync-failed',
    channel: { name: 'dingtalk-ops', type: 'dingtalk' },
    notificationType: 'dingtalk',
  });
  t.true(failed.dingtalk?.text?.includes('同步失败'));
  t.true(failed.dingtalk?.text?.includes('Deployment "web" is "invalid"'));
  t.true(failed.dingtalk?.text?.includes('自动同步'));
});
