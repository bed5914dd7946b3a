// The app reconciler hands an app's outbox to delivery. A message the channel accepts
// while the reconciler awaits a write has its completion waiting in the MailStore; the
// reconciler must not hand over the copy it read before the await, or the message is
// sent twice (found as one duplicate in 3,000 by bench/engine's churn).
import test from 'ava';
import { AppReconciler, type Application } from '../../src/controller/app-reconciler.js';
import type { Outbox, OutboxEntry } from '../../src/controller/ledger.js';
import { MailStore } from '../../src/controller/mail-store.js';
import { completed } from '../../src/controller/outbox.js';
import { ConfigStore } from '../../src/controller/store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { waitFor } from '../support/wait.js';

const OUTBOX = 'herald.gitops.dev/outbox';

const entry = (key: string, decided: number): OutboxEntry => ({
  channel: 'ops', channelNamespace: 'argocd', key, trigger: 'on-deployed', template: 'deployed',
  body: { rendered: { message: `ArgoCD ${key}` } }, attempts: 0, next: 0, decided,
});

test('an entry the channel accepts while the reconciler is writing is not handed over again', async (t) => {
  const app: Application = {
    metadata: { namespace: 'argocd', name: 'busy', uid: 'uid-busy', resourceVersion: '1', annotations: { [OUTBOX]: JSON.stringify({ a: entry('ka', 1), b: entry('kb', 2) }) } },
  };
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  let writes = 0;
  const mail = new MailStore({
    getApp: () => app,
    writer: {
      patchAppAnnotations: async () => {
        writes += 1;
        // The MailStore's own first write fails (it retries a second later); the reconcile's waits for the gate.
        if (writes === 1) throw Object.assign(new Error('HTTP 500'), { code: 500 });
        if (writes === 2) await gate;
        return { metadata: { resourceVersion: String(1 + writes) } };
      },
    },
    log: silentLogger,
    requeue: () => undefined,
    retryBaseMs: 1000,
  });
  const handedOver: Outbox[] = [];
  const reconciler = new AppReconciler({
    getApp: () => app,
    store: new ConfigStore(),
    mail,
    events: { record: () => undefined },
    log: silentLogger,
    metrics: createMetrics(),
    controlNamespace: 'herald-system',
    context: {},
    isLeader: () => true,
    deliver: (_key, outbox) => handedOver.push(outbox),
    renderer: { render: async () => { throw new Error('nothing is rendered here'); } },
    evaluationError: () => undefined,
  });

  // A completion of `a` the MailStore could not write yet: the reconcile writes it (gated).
  void mail.change('argocd/busy', (state) => completed(state, ['a'], 10));
  await waitFor(() => writes === 1, 'the MailStore tried once', 2000);
  const reconciling = reconciler.reconcile('argocd/busy');
  await waitFor(() => writes === 2, 'the reconciler is writing', 500);
  // Meanwhile the channel accepts `b`: its completion waits in the MailStore.
  void mail.change('argocd/busy', (state) => completed(state, ['b'], 20));
  release();
  await reconciling;

  t.is(handedOver.length, 1);
  t.deepEqual(Object.keys(handedOver[0]!), [], 'neither a (written) nor b (accepted meanwhile) goes to the channel again');
  await waitFor(() => !mail.busy, 'completion of b written', 5000);
  t.is(writes, 3);
});
