// Issue 13 must-shows 5 and 6 against the running operator and the local robot: a
// digest the robot refuses for its size reaches the group in smaller requests, and a
// five-minute outage with one busy app keeps the outbox within its cap, folds (and
// says how many), and lets the other apps' messages through within a minute of the
// robot's return; herald_outbox_pending rises and falls meanwhile.
import test from 'ava';
import type { ReceivedRequest } from '../support/dingtalk-robot.js';
import type { Application } from '../support/fixtures/apps.js';
import { startOperator } from '../support/operator.js';
import { CHANNEL, REVISION_SUBSCRIPTION, eventsFor, setupScenario, useRevisionTrigger, type Scenario } from '../support/scenario.js';
import { scrape, sumOf } from '../support/scrape.js';
import { sleep, waitFor } from '../support/wait.js';

const OUTBOX = 'herald.gitops.dev/outbox';
const NOTIFIED = 'herald.gitops.dev/notified';
/** The outbox's cap (src/controller/outbox.ts), restated: the test checks the numbers, not the code. */
const OUTBOX_MAX_ENTRIES = 30;
const ANNOTATIONS_BUDGET_BYTES = 64 * 1024;
const TOO_LONG = 460101;

const rev = (n: number): string => `rev-${String(n).padStart(3, '0')}`;
const ledgerKey = (revision: string): string => `${revision}:on-revision:default:${CHANNEL}`;

function annotationsOf(app: Application): Record<string, string> {
  return app.metadata.annotations ?? {};
}

function outboxOf(app: Application): Record<string, { key: string; folded?: { count: number } }> {
  return JSON.parse(annotationsOf(app)[OUTBOX] ?? '{}') as Record<string, { key: string; folded?: { count: number } }>;
}

/** The message has been decided: its ledger key is waiting in the outbox or already in the ledger. */
function decided(app: Application, revision: string): boolean {
  const key = ledgerKey(revision);
  const ledger = JSON.parse(annotationsOf(app)[NOTIFIED] ?? '{}') as Record<string, number>;
  return key in ledger || Object.values(outboxOf(app)).some((entry) => entry.key === key);
}

/** What the group can read of a request: text content or markdown text. */
function visibleText(request: ReceivedRequest): string {
  const json = request.json as { text?: { content?: string }; markdown?: { text?: string } } | undefined;
  return `${json?.text?.content ?? ''}\n${json?.markdown?.text ?? ''}`;
}

/** `<app> <revision>` of every on-revision message a request carries (one, or many in a digest). */
function messagesIn(request: ReceivedRequest): Set<string> {
  return new Set([...visibleText(request).matchAll(/ArgoCD (\S+) (rev-\d{3})/g)].map((m) => `${m[1]} ${m[2]}`));
}

function errcodeOf(request: ReceivedRequest): number | undefined {
  return request.answer?.kind === 'answered' ? request.answer.errcode : undefined;
}

/** Apps synced at `rev-000` long ago, subscribed to on-revision (created before herald starts: old news). */
async function createApps(scenario: Scenario, names: string[]): Promise<void> {
  for (const name of names) await scenario.createApp({ name, phase: 'Succeeded', revision: rev(0), annotations: REVISION_SUBSCRIPTION });
}

/** Waits until herald has settled the apps' initial state (recorded, or sent), and the robot's rolling minute is quiet. */
async function settled(scenario: Scenario, names: string[]): Promise<void> {
  await waitFor(async () => {
    for (const name of names) {
      const app = await scenario.getApp(name);
      if (!decided(app, rev(0)) || Object.keys(outboxOf(app)).length > 0) return false;
    }
    return true;
  }, 'herald to settle the initial state of every app', 120_000);
  // Whatever the first sight sent must be out of the robot's rolling minute before the test proper.
  const last = scenario.robot.requests.at(-1)?.time;
  if (last !== undefined) await sleep(Math.max(0, last + 62_000 - Date.now()));
  scenario.robot.clear();
}

test('a digest the robot refuses for its size (460101) is split: its messages arrive later in smaller requests, 0 lost', async (t) => {
  const scenario = await setupScenario(t, import.meta.url);
  const { robot, namespace } = scenario;
  useRevisionTrigger(scenario);
  // Each message carries 150 bytes of text: one fits under the robot's limit, two together do not.
  const padding = 'All pods of the new ReplicaSet are ready and the previous ReplicaSet was scaled down to zero replicas by the rollout.'.padEnd(150, '.');
  scenario.applyYaml(`apiVersion: herald.gitops.dev/v1alpha1
kind: NotificationTemplate
metadata: {name: revision}
spec:
  dingtalk: {msgType: text, text: "ArgoCD {{ app.metadata.name }} {{ app.status.sync.revision }} ${padding}"}
`);
  const apps = Array.from({ length: 25 }, (_, i) => `big-${i}`);
  await createApps(scenario, apps);
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  await settled(scenario, apps);

  robot.setMaxBodyBytes(420);
  // 25 messages ready at once (the robot holds the first request until all are decided):
  // the first ones go alone, the last free slot of the minute carries a digest of the rest.
  robot.setMode(scenario.token, 'hang');
  for (const name of apps) await scenario.setStatus(name, { phase: 'Succeeded', revision: rev(1) });
  await waitFor(async () => {
    for (const name of apps) if (!decided(await scenario.getApp(name), rev(1))) return false;
    return true;
  }, 'herald to decide every message', 60_000);
  robot.setMode(scenario.token, 'ok');
  const wanted = apps.map((name) => `${name} ${rev(1)}`);
  const delivered = () => new Set(robot.accepted().flatMap((request) => [...messagesIn(request)]));
  await waitFor(() => wanted.every((message) => delivered().has(message)), 'every message accepted by the robot', 240_000);

  const refused = robot.requests.filter((request) => errcodeOf(request) === TOO_LONG);
  t.log(`requests: ${robot.requests.length}; refused for size: ${refused.map((r) => messagesIn(r).size).join(', ')} messages; accepted: ${robot.accepted().length}`);
  t.true(refused.some((request) => messagesIn(request).size > 1), 'the robot refused a digest for its size');
  t.deepEqual(robot.requests.filter((request) => !request.accepted && errcodeOf(request) !== TOO_LONG && request.answer?.kind === 'answered').map(errcodeOf), [], 'nothing but size was refused (no 130101)');
  for (const request of refused) {
    for (const message of messagesIn(request)) {
      const later = robot.accepted().filter((a) => a.seq > request.seq && messagesIn(a).has(message));
      t.true(later.length > 0, `${message} (in refused request #${request.seq}) arrived later`);
      t.true(later.every((a) => messagesIn(a).size < messagesIn(request).size && Buffer.byteLength(a.rawBody) <= 420), `${message} arrived in a smaller request`);
    }
  }
  t.deepEqual([...delivered()].filter((m) => m.endsWith(rev(1))).sort(), [...wanted].sort(), '0 lost, nothing else');
  await waitFor(async () => {
    for (const name of apps) if (Object.keys(outboxOf(await scenario.getApp(name))).length > 0) return false;
    return true;
  }, 'every outbox empty');
  const failed = apps.flatMap((name) => eventsFor(namespace, 'Application', name)).filter((event) => event.reason === 'NotificationFailed');
  t.deepEqual(failed, [], 'no message was given up');
});

test('robot down for 5 minutes, one app changes 100 times and 20 others once: outbox capped, folds reported with their count, the others arrive within a minute of the return, herald_outbox_pending rises and falls', async (t) => {
  t.timeout(9 * 60_000);
  const OUTAGE_MS = 5 * 60_000;
  const scenario = await setupScenario(t, import.meta.url);
  const { robot, namespace, token } = scenario;
  useRevisionTrigger(scenario);
  const others = Array.from({ length: 20 }, (_, i) => `other-${i}`);
  await createApps(scenario, ['busy', ...others]);
  const operator = await startOperator({ controlNamespace: namespace });
  t.teardown(() => operator.stop());
  const metricsUrl = `http://127.0.0.1:${operator.ports.metrics}/metrics`;
  await settled(scenario, ['busy', ...others]);

  // Watch the busy app's outbox and the pending gauge for the whole test.
  let maxEntries = 0;
  let maxBytes = 0;
  const pending: Array<{ time: number; value: number }> = [];
  let watching = true;
  const watchErrors: string[] = [];
  const watcher = (async () => {
    while (watching) {
      try {
        const busy = await scenario.getApp('busy');
        const text = annotationsOf(busy)[OUTBOX];
        maxEntries = Math.max(maxEntries, Object.keys(outboxOf(busy)).length);
        maxBytes = Math.max(maxBytes, text ? Buffer.byteLength(text) : 0);
        const samples = (await scrape(metricsUrl)).samples;
        pending.push({ time: Date.now(), value: sumOf(samples, 'herald_outbox_pending', { channel: `${namespace}/${CHANNEL}` }) });
      } catch (error) {
        watchErrors.push(String(error));
      }
      await sleep(250);
    }
  })();
  t.teardown(() => {
    watching = false;
  });
  const before = (await scrape(metricsUrl)).samples;
  const foldedBefore = sumOf(before, 'herald_outbox_folded_total');
  t.is(sumOf(before, 'herald_outbox_pending', { channel: `${namespace}/${CHANNEL}` }), 0, 'nothing pending before the outage');

  robot.setMode(token, 'down');
  const downAt = Date.now();
  for (let n = 1; n <= 100; n++) {
    await scenario.setStatus('busy', { phase: 'Succeeded', revision: rev(n) });
    await waitFor(async () => decided(await scenario.getApp('busy'), rev(n)), `herald to decide busy ${rev(n)}`, 30_000);
  }
  for (const name of others) await scenario.setStatus(name, { phase: 'Succeeded', revision: rev(1) });
  await waitFor(async () => {
    for (const name of others) if (!decided(await scenario.getApp(name), rev(1))) return false;
    return true;
  }, 'herald to decide the other apps');
  t.log(`changes made in ${Math.round((Date.now() - downAt) / 1000)} s; the robot stays down until ${OUTAGE_MS / 60_000} minutes have passed`);
  await sleep(downAt + OUTAGE_MS - Date.now());
  t.true(robot.accepted().length === 0 && robot.requests.length > 0, 'herald kept trying while the robot was down');

  robot.setMode(token, 'ok');
  const backAt = Date.now();
  const arrival = (message: string) => robot.accepted().find((request) => messagesIn(request).has(message))?.time;
  await waitFor(() => others.every((name) => arrival(`${name} ${rev(1)}`) !== undefined), "the other apps' messages", 90_000);
  const latest = Math.max(...others.map((name) => arrival(`${name} ${rev(1)}`)!));
  t.log(`the other 20 apps' messages arrived within ${Math.round((latest - backAt) / 1000)} s of the robot's return`);
  t.true(latest - backAt <= 60_000, `within a minute of the return (took ${latest - backAt} ms)`);

  // The busy app: every change is either delivered as its own message or counted in a fold message.
  await waitFor(async () => Object.keys(outboxOf(await scenario.getApp('busy'))).length === 0, "the busy app's outbox to drain", 120_000);
  // The fold message alone (or in a digest of a few) is headed "<namespace>/busy: N earlier notifications
  // folded"; in a digest of many it is one line, "**<namespace>/busy** · N earlier notifications folded".
  const foldCounts = robot.accepted().flatMap((request) => [...visibleText(request).matchAll(/busy(?::|\*\* ·) (\d+) earlier notifications? folded/g)].map((m) => Number(m[1])));
  const folded = Math.max(0, ...foldCounts);
  const busyDelivered = new Set(robot.accepted().flatMap((request) => [...messagesIn(request)]).filter((m) => m.startsWith('busy ')));
  t.log(`busy: ${busyDelivered.size} messages delivered, ${folded} folded; outbox at most ${maxEntries} entries, ${maxBytes} bytes`);
  t.true(folded > 0, 'a fold message reached the group');
  t.is(busyDelivered.size + folded, 100, 'every change of the busy app is delivered or counted in the fold message');
  t.true([...busyDelivered].every((m) => /^busy rev-(\d{3})$/.test(m) && Number(m.slice(9)) >= 1), 'only changes made during the outage');
  t.true(busyDelivered.has(`busy ${rev(100)}`), 'the newest change is delivered itself');
  t.true(maxEntries <= OUTBOX_MAX_ENTRIES, `outbox entries never above ${OUTBOX_MAX_ENTRIES} (saw ${maxEntries})`);
  t.true(maxBytes <= ANNOTATIONS_BUDGET_BYTES, `outbox bytes never above ${ANNOTATIONS_BUDGET_BYTES} (saw ${maxBytes})`);
  t.is(sumOf((await scrape(metricsUrl)).samples, 'herald_outbox_folded_total') - foldedBefore, folded, 'herald_outbox_folded_total counts the folded messages');
  const foldEvents = eventsFor(namespace, 'Application', 'busy').filter((event) => event.reason === 'NotificationsFolded');
  const reported = foldEvents.reduce((total, event) => total + Number(/: (\d+) folded/.exec(event.message)?.[1] ?? 0) * (event.count ?? 1), 0);
  t.is(reported, folded, 'the NotificationsFolded Events say how many were folded');

  // Nothing else lost: each other app's change arrived; no app holds anything.
  for (const name of others) t.truthy(arrival(`${name} ${rev(1)}`), `${name} ${rev(1)} delivered`);
  await waitFor(async () => {
    for (const name of others) if (Object.keys(outboxOf(await scenario.getApp(name))).length > 0) return false;
    return true;
  }, 'every outbox empty');

  await waitFor(() => pending.at(-1)?.value === 0, 'herald_outbox_pending back to 0', 30_000);
  watching = false;
  await watcher;
  t.true(watchErrors.length < 5, `the watcher could read the app and /metrics (${watchErrors.slice(0, 3).join('; ')})`);
  const duringOutage = pending.filter((sample) => sample.time > downAt && sample.time < backAt);
  const highest = Math.max(...duringOutage.map((sample) => sample.value));
  t.log(`herald_outbox_pending: 0 before, up to ${highest} during the outage, ${pending.at(-1)?.value} after`);
  t.true(highest >= others.length + 1, `the gauge rose during the outage (to ${highest})`);
  t.is(pending.at(-1)?.value, 0, 'and fell back to 0 once delivered');
});
