// bench/engine: a notification operator at N Applications, against a real etcd +
// kube-apiserver and the local DingTalk robot. The operator is herald (default) or
// the anchor, a controller on Argo CD's notifications-engine (--operator anchor,
// bench/anchor/); everything else is the same for both. Phases, one operator process:
//   1. cold start — every app's current state is already in its send ledger; time from
//      process start until idle, messages sent (must be 0), peak RSS;
//   2. churn — status changes of random apps at a fixed rate, each worth exactly one
//      notification; delivery latency (patch accepted → robot received), CPU seconds
//      per 1,000 notifications, API writes per notification (the API server's own
//      apiserver_request_total, minus the bench's writes), control-plane CPU, RSS;
//   3. mass sync — many apps start syncing at once; time until the last notification
//      arrives, and whether any was lost;
//   4. capacity (--phases …,capacity) — a step-up run: the highest change rate at which
//      the backlog stays bounded.
// --channels 200 spreads the apps over 200 channels, each within DingTalk's 20 a minute.
// Prints human-readable lines and, last, one JSON line with every figure.
//
//   node build/bench/engine/main.js --apps 10000 [--operator herald|anchor] … (--help)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startDingTalkRobot } from '../../test/support/dingtalk-robot.js';
import { seededRandom } from '../../test/support/random.js';
import { parseExposition, type Sample } from '../../test/support/scrape.js';
import { ensureAnchorBinary } from '../lib/anchor.js';
import { scrapeApiserverWrites, writesBetween, type WriteCounts } from '../lib/apiserver.js';
import { backlogSeries, capacityOf, formatCapacity, judgeStep, keepStepping, type StepVerdict } from '../lib/capacity.js';
import { startBenchCluster } from '../lib/controlplane.js';
import { printSummary, summariseProfile, type ProfileSummary } from '../lib/cpuprofile.js';
import type { BenchOperator } from '../lib/operator.js';
import { inParallel, withRetry } from '../lib/pool.js';
import { cpuSeconds, machineCpu, memory, ProcessSampler, treeCpuSeconds } from '../lib/proc.js';
import { machine, ms, printJson, printer, seconds, verdict } from '../lib/report.js';
import { round } from '../lib/stats.js';
import { appName, benchApp, revisionFor, type AppState } from './apps.js';
import { firstReceipts, match, revisionShown, split, type Change } from './delivery.js';
import { parseOptions } from './options.js';
import { benchTarget, channelPlan, labelForChannel } from './targets.js';

function shuffled(count: number, rand: () => number): number[] {
  const list = Array.from({ length: count }, (_, i) => i);
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n);
/** Converts an epoch-ms instant in the past to the monotonic µs clock of CPU profiles. */
const epochToMonoUs = (epochMs: number) => monoUs() - (Date.now() - epochMs) * 1000;
const isoSeconds = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

async function waitUntil(predicate: () => boolean, timeoutMs: number, stallMs = Infinity, progress?: () => number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = progress?.();
  let lastChange = Date.now();
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    if (progress) {
      const now = progress();
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > stallMs) return false;
    }
    await sleep(100);
  }
  return true;
}

/** herald's own targets at 10,000 apps (docs/performance.md). */
function heraldTargets(cold: { idleMs: number; messages: number }, results: Record<string, unknown>, peakRssMiB: number): Record<string, boolean | undefined> {
  const churn = results.churn as { latencyMs: { p99: number }; cpuSecondsPer1000: number } | undefined;
  const mass = results.massSync as { lastDeliveredMs: number; lost: number } | undefined;
  return {
    coldStartIdleWithin15s: cold.idleMs <= 15_000 && cold.messages === 0,
    churnP99Within100ms: churn && churn.latencyMs.p99 <= 100,
    cpuPer1000Within2s: churn && churn.cpuSecondsPer1000 <= 2,
    rssWithin256MB: peakRssMiB <= 256,
    massSync1000Within30sNoneLost: mass && mass.lastDeliveredMs <= 30_000 && mass.lost === 0,
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const N = options.apps;
  const ns = options.namespace;
  const plan = channelPlan(options.channels);
  const anchorBinary = options.operator === 'anchor' ? ensureAnchorBinary((line) => process.stdout.write(`[anchor] ${line}\n`)) : undefined;
  const target = benchTarget(options.operator, {
    namespace: ns,
    plan,
    workers: options.workers,
    cpuProfileDir: options.cpuProfileDir,
    anchorBinary,
    processors: options.processors,
    kubeQps: options.kubeQps,
    kubeBurst: options.kubeBurst,
  });
  const print = printer(`engine ${target.label} N=${N}`);
  const startedAt = new Date();
  const rand = seededRandom(options.seed);
  const shape = plan.names.length > 1 ? `, ${plan.names.length} channels (${N / plan.names.length} apps and DingTalk's 20 messages a minute each)` : '';
  print(`${startedAt.toISOString()} — ${target.label}: ${N} Applications${shape}, churn ${options.rate}/s for ${options.duration} s; phases ${options.phases.join(', ')}`);
  print(`machine: ${JSON.stringify(machine())}; the control plane, the operator and this load generator (with the robot) share it`);

  const cluster = await startBenchCluster((line) => print(`control plane: ${line}`));
  const { cp, kc } = cluster;
  const robot = await startDingTalkRobot({ robots: target.robots(), perMinute: plan.names.length > 1 ? 20 : 1_000_000 });
  let operator: BenchOperator | undefined;
  try {
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await target.configure(cp, robot);
    const base = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespace: ns };
    const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

    // ---- create the apps, their current state already in their ledgers ------------
    const states: AppState[] = Array.from({ length: N }, () => ({ kind: 'base' }));
    const createStart = Date.now();
    for (let from = 0; from < N; from += 1000) {
      const chunk = Array.from({ length: Math.min(1000, N - from) }, (_, k) => labelForChannel(plan, benchApp(from + k, ns, states[from + k]!), from + k));
      const ledgers = await target.ledgers(chunk);
      chunk.forEach((app, k) => (app.metadata.annotations = { ...app.metadata.annotations, ...ledgers[k] }));
      await inParallel(chunk, options.concurrency, async (app) => void (await withRetry(() => custom.createNamespacedCustomObject({ ...base, body: app }))));
    }
    const createMs = Date.now() - createStart;
    const sample = (await custom.getNamespacedCustomObject({ ...base, name: appName(0) })) as { metadata: Record<string, unknown> };
    const storedBytes = JSON.stringify(sample).length;
    const managedBytes = JSON.stringify(sample.metadata.managedFields ?? []).length;
    const ledgerKeys = Object.values((sample.metadata.annotations ?? {}) as Record<string, string>).map((v) => (v.startsWith('{') ? Object.keys(JSON.parse(v) as object).length : 0));
    print(`created ${N} Applications in ${seconds(createMs)} (${Math.round(N / (createMs / 1000))}/s, ${options.concurrency} in flight); one is ${storedBytes} bytes as the API server returns it (${managedBytes} of them managedFields), ledger: ${Math.max(0, ...ledgerKeys)} keys`);

    const lastArrival = (changes: Change[], from: number) => {
      const at = match(changes, robot.requests, from).lastAt;
      return Number.isFinite(at) ? at : Date.now();
    };
    const showLost = (changes: Change[], from: number) => {
      const seen = new Set(robot.requests.slice(from).map(revisionShown));
      const lost = changes.filter((c) => !seen.has(c.rev12));
      for (const c of lost.slice(0, 5)) print(`  not received: ${appName(c.app)} → ${c.kind} ${c.rev12} (patch accepted at ${c.acceptedAt ? new Date(c.acceptedAt).toISOString() : 'never'})`);
    };

    let benchWrites = 0; // the bench's own writes, subtracted from the API server's count
    const setState = async (i: number, state: AppState): Promise<number> => {
      const { status } = benchApp(i, ns, state);
      await withRetry(() => {
        benchWrites++;
        return custom.patchNamespacedCustomObject({ ...base, name: appName(i), body: [{ op: 'add', path: '/status', value: status }] }, jsonPatch);
      });
      states[i] = state;
      return Date.now();
    };
    /** The operator's writes since `before`, as the API server counted them. */
    const operatorWrites = async (before: WriteCounts, benchBefore: number): Promise<WriteCounts & { bench: number }> => {
      const moved = writesBetween(before, await scrapeApiserverWrites(cp));
      const bench = benchWrites - benchBefore;
      const byResource = { ...moved.byResource };
      if (byResource.applications !== undefined) byResource.applications -= bench;
      return { total: moved.total - bench, byResource, bench };
    };

    // ---- 1. cold start ------------------------------------------------------------
    const coldWrites0 = await scrapeApiserverWrites(cp);
    const coldBench0 = benchWrites;
    operator = target.start(cp.kubeconfigPath);
    const sampler = new ProcessSampler(operator.pid, 100).start();
    const cpPids = cp.pids;
    const cpCpu = () => cpPids.reduce((total, pid) => total + cpuSeconds(pid), 0);
    const cpCpuAtStart = cpCpu();
    const started = await operator.waitStarted();
    const ready = await target.ready(operator);
    const idleAt = await operator.waitIdle(ready.at, 2000);
    const metricsUrl = `http://127.0.0.1:${operator.ports.metrics}/metrics`;
    const scrape = async (): Promise<Sample[]> => parseExposition(await (await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) })).text());
    const coldCpu = treeCpuSeconds(operator.pid);
    const coldMem = memory(operator.pid);
    const coldFigures = target.coldFigures(await scrape(), operator);
    const coldEndMono = epochToMonoUs(idleAt);
    const cold = {
      idleMs: idleAt - operator.spawnedAt,
      listedMs: Date.parse(started.time!) - operator.spawnedAt,
      leaderMs: ready.leaderMs,
      messages: robot.requests.length,
      peakRssMiB: round(coldMem.peakRssMiB),
      rssMiB: round(coldMem.rssMiB),
      cpuSeconds: round(coldCpu, 2),
      controlPlaneCpuSeconds: round(cpCpu() - cpCpuAtStart, 2),
      heapUsedMiB: round(coldFigures.heapUsedMiB),
      appsKnown: coldFigures.appsKnown,
      triggerEvaluations: coldFigures.evaluations,
      apiWrites: await operatorWrites(coldWrites0, coldBench0),
    };
    print(`cold start: idle ${seconds(cold.idleMs)} after process start (apps listed and caches synced at ${seconds(cold.listedMs)}${cold.leaderMs !== undefined ? `, leader at ${seconds(cold.leaderMs)}` : ''}); ${cold.messages} messages sent; peak RSS ${cold.peakRssMiB} MiB (once idle: RSS ${cold.rssMiB} MiB, heap ${cold.heapUsedMiB} MiB used); ${cold.cpuSeconds} CPU-s; ${cold.triggerEvaluations} condition evaluations; knows ${cold.appsKnown} apps; ${cold.apiWrites.total} API writes`);
    if (cold.appsKnown !== N) print(`  WARNING: the operator knows ${cold.appsKnown} of the ${N} Applications`);
    print(`  idle = the operator's "idle" line (herald: leader, work queues empty, nothing in flight or waiting to be sent; the anchor: no key queued or in processing) and no "busy" line for 2 s after it`);
    if (N >= 10_000 && target.kind === 'herald') {
      print(`  target at 10,000 apps: idle within 15 s — ${verdict(cold.idleMs / 1000, 15, 's')}; 0 messages — ${cold.messages === 0 ? 'met' : 'MISSED'}; RSS ≤ 256 MB — ${verdict(cold.peakRssMiB, 256, 'MiB')}`);
    }

    // Highest application queue depth and dispatcher backlog, as the operator reports
    // them on each "idle" line (sampled every 20 ms while busy).
    const peaks = (fromMs: number, toMs: number) => {
      let queue = 0;
      let backlog = 0;
      for (const record of operator!.records) {
        if (record.msg !== 'idle' || !record.time) continue;
        const at = Date.parse(record.time);
        if (at < fromMs || at > toMs) continue;
        queue = Math.max(queue, Number(record.maxAppQueueDepth ?? 0));
        backlog = Math.max(backlog, Number(record.maxDispatcherBacklog ?? 0));
      }
      return { queue, backlog };
    };

    // Changes at a fixed rate: the app of the k-th change comes from `pick`; each change
    // moves the app to a new revision (running, or failed after running), one message each.
    let serial = 0;
    const drive = async (rate: number, durationS: number, phaseDigit: number, pick: (k: number) => number) => {
      const total = rate * durationS;
      const changes: Change[] = [];
      const pending: Array<Promise<void>> = [];
      const start = Date.now();
      const t0 = performance.now();
      for (let k = 0; k < total; k++) {
        const wait = t0 + (k * 1000) / rate - performance.now();
        if (wait > 1) await sleep(wait);
        const i = pick(k);
        const revision = revisionFor(phaseDigit, serial++);
        const next: AppState = states[i]!.kind === 'running' ? { kind: 'failed', revision, startedAt: isoSeconds() } : { kind: 'running', revision, startedAt: isoSeconds() };
        states[i] = next; // the next change of this app builds on this one
        const change: Change = { app: i, kind: next.kind, rev12: revision.slice(0, 12), sentAt: Date.now() };
        changes.push(change);
        pending.push(setState(i, next).then((at) => void (change.acceptedAt = at), (error: unknown) => void (change.error = String(error))));
      }
      const sentMs = Date.now() - start;
      await Promise.all(pending);
      return { changes, start, sentMs, achievedRate: changes.length / (sentMs / 1000) };
    };
    const deliveredCount = (changes: Change[], from: number) => () => match(changes, robot.requests, from).received;

    // ---- 2. churn -------------------------------------------------------------------
    const order = shuffled(N, rand);
    // One channel: apps in a shuffled order. Several: channel by channel in turn, so each
    // gets the same share of the rate (50/s over 200 channels: 15 a minute each).
    const perChannel = Math.ceil(N / plan.names.length);
    const pickChurn = plan.names.length > 1
      ? (k: number) => ((k % plan.names.length) + plan.names.length * (Math.floor(k / plan.names.length) % perChannel)) % N
      : (k: number) => order[k % N]!;
    const results: Record<string, unknown> = {};
    if (options.phases.includes('churn')) {
      const from = robot.requests.length;
      sampler.takeMaxRss();
      const cpu0 = treeCpuSeconds(operator.pid);
      const cp0 = cpCpu();
      const machine0 = machineCpu();
      const self0 = process.cpuUsage();
      const writes0 = await scrapeApiserverWrites(cp);
      const bench0 = benchWrites;
      const startMono = monoUs();
      const run = await drive(options.rate, options.duration, 1, pickChurn);
      const errors = run.changes.filter((c) => c.error).length;
      print(`churn: ${run.changes.length} status patches in ${seconds(run.sentMs)} (${round(run.achievedRate)}/s achieved), ${errors} failed; waiting for the notifications…`);
      const expected = run.changes.filter((c) => !c.error);
      await waitUntil(() => deliveredCount(expected, from)() >= expected.length, 600_000, 60_000, deliveredCount(expected, from));
      const idle = await operator.waitIdle(lastArrival(expected, from), 2000);
      const cpu = treeCpuSeconds(operator.pid) - cpu0;
      const cpSeconds = cpCpu() - cp0;
      const machine1 = machineCpu();
      const self = process.cpuUsage(self0);
      const writes = await operatorWrites(writes0, bench0);
      const busy = machine1.busy - machine0.busy;
      const share = busy / (machine1.total - machine0.total);
      const delivery = match(expected, robot.requests, from);
      const churnPeaks = peaks(run.start, idle);
      const churnSplit = split(expected, robot.requests, from, target.decisions(operator.records), ns);
      const refused = robot.requests.slice(from).filter((r) => r.answer?.kind === 'answered' && r.answer.errcode === 130101).length;
      const churn = {
        changes: run.changes.length,
        ratePerSecond: round(run.achievedRate),
        patchErrors: errors,
        ...delivery,
        robotRefusedTooFast: refused,
        cpuSeconds: round(cpu, 2),
        cpuSecondsPer1000: round(cpu / (delivery.received / 1000), 2),
        controlPlaneCpuSeconds: round(cpSeconds, 2),
        loadGeneratorCpuSeconds: round((self.user + self.system) / 1e6, 2),
        machineCpuSeconds: round(busy, 2),
        machineBusyShare: round(share, 2),
        apiWrites: writes,
        apiWritesPerNotification: round(writes.total / delivery.received, 2),
        maxRssMiB: round(sampler.takeMaxRss()),
        peakRssMiB: round(memory(operator.pid).peakRssMiB),
        maxQueueDepth: churnPeaks.queue,
        maxDispatcherBacklog: churnPeaks.backlog,
        ...churnSplit,
        drainMs: idle - run.start - run.sentMs,
        profileWindowUs: [startMono, epochToMonoUs(idle)],
      };
      results.churn = churn;
      const d = delivery.latencyMs;
      showLost(expected, from);
      print(`churn: ${delivery.received}/${delivery.expected} notifications delivered (${delivery.lost} not delivered, ${delivery.lostSuperseded} of them superseded by the app's next change; ${delivery.duplicates} duplicates, ${delivery.unexpected} unexpected${refused ? `, ${refused} refused by the robot as too fast` : ''})`);
      print(`  latency status patch accepted → robot received: p50 ${ms(d.p50)}, p95 ${ms(d.p95)}, p99 ${ms(d.p99)}, max ${ms(d.max)}`);
      print(`    of which accepted → decided: p50 ${ms(churnSplit.decideMs.p50)}, p99 ${ms(churnSplit.decideMs.p99)}; decided → received: p50 ${ms(churnSplit.deliverMs.p50)}, p99 ${ms(churnSplit.deliverMs.p99)}`);
      print(`  operator CPU ${churn.cpuSeconds} s = ${churn.cpuSecondsPer1000} CPU-s per 1,000 notifications (control plane: ${churn.controlPlaneCpuSeconds} CPU-s); RSS max ${churn.maxRssMiB} MiB; application queue depth at most ${churnPeaks.queue}, dispatcher backlog at most ${churnPeaks.backlog}`);
      print(`  API writes (the API server's count, minus the bench's ${writes.bench}): ${writes.total} = ${churn.apiWritesPerNotification} per notification (${Object.entries(writes.byResource).map(([r, n]) => `${r} ${n}`).join(', ')})`);
      print(`  the machine was ${Math.round(share * 100)}% busy during the run (both cores): operator ${churn.cpuSeconds}, control plane ${churn.controlPlaneCpuSeconds}, this load generator and robot ${churn.loadGeneratorCpuSeconds}, everything together ${churn.machineCpuSeconds} CPU-s`);
      if (N >= 10_000 && target.kind === 'herald') {
        print(`  targets at 10,000 apps: p99 ≤ 100 ms — ${verdict(d.p99, 100, 'ms')}; ≤ 2 CPU-s per 1,000 — ${verdict(churn.cpuSecondsPer1000, 2, 'CPU-s')}; RSS ≤ 256 MB — ${verdict(churn.maxRssMiB, 256, 'MiB')}`);
      }
    }

    // ---- 3. mass sync ---------------------------------------------------------------
    if (options.phases.includes('mass')) {
      const targets = shuffled(N, rand).slice(0, options.mass);
      const beforeReset = robot.requests.length;
      const toReset = targets.filter((i) => states[i]!.kind !== 'base');
      await inParallel(toReset, options.concurrency, async (i) => void (await setState(i, { kind: 'base' })));
      await operator.waitIdle(Date.now(), 2000);
      const resetMessages = robot.requests.length - beforeReset;
      print(`mass sync: ${toReset.length} of the ${targets.length} apps put back to their last notified state first (${resetMessages} messages, expected 0)`);
      sampler.takeMaxRss();
      const from = robot.requests.length;
      const cpu0 = treeCpuSeconds(operator.pid);
      const cp0 = cpCpu();
      const writes0 = await scrapeApiserverWrites(cp);
      const bench0 = benchWrites;
      const startMono = monoUs();
      const start = Date.now();
      const mass: Change[] = targets.map((i) => ({ app: i, kind: 'running', rev12: '', sentAt: 0 }));
      const startedIso = isoSeconds();
      const revisions = mass.map(() => revisionFor(2, serial++));
      mass.forEach((change, k) => (change.rev12 = revisions[k]!.slice(0, 12)));
      await inParallel(mass, options.concurrency, async (change, k) => {
        change.sentAt = Date.now();
        try {
          change.acceptedAt = await setState(change.app, { kind: 'running', revision: revisions[k]!, startedAt: startedIso });
        } catch (error) {
          change.error = String(error);
        }
      });
      const patchedMs = Date.now() - start;
      const expected = mass.filter((c) => !c.error);
      await waitUntil(() => deliveredCount(expected, from)() >= expected.length, 900_000, 120_000, deliveredCount(expected, from));
      const idle = await operator.waitIdle(lastArrival(expected, from), 2000);
      const delivery = match(expected, robot.requests, from);
      showLost(expected, from);
      const cpu = treeCpuSeconds(operator.pid) - cpu0;
      const massPeaks = peaks(start, idle);
      const massSplit = split(expected, robot.requests, from, target.decisions(operator.records), ns);
      const writes = await operatorWrites(writes0, bench0);
      const massResult = {
        apps: mass.length,
        patchErrors: mass.length - expected.length,
        patchedMs,
        lastDeliveredMs: delivery.lastAt - start,
        firstDeliveredMs: delivery.firstAt - start,
        ...delivery,
        resetMessages,
        cpuSeconds: round(cpu, 2),
        cpuSecondsPer1000: round(cpu / (delivery.received / 1000), 2),
        controlPlaneCpuSeconds: round(cpCpu() - cp0, 2),
        apiWrites: writes,
        apiWritesPerNotification: round(writes.total / delivery.received, 2),
        maxRssMiB: round(sampler.takeMaxRss()),
        maxQueueDepth: massPeaks.queue,
        maxDispatcherBacklog: massPeaks.backlog,
        ...massSplit,
        profileWindowUs: [startMono, epochToMonoUs(idle)],
      };
      results.massSync = massResult;
      print(`mass sync: ${mass.length} apps patched to Running (new revision) in ${seconds(patchedMs)}; last notification delivered ${seconds(massResult.lastDeliveredMs)} after the first patch; ${delivery.received}/${delivery.expected} delivered, ${delivery.lost} lost, ${delivery.duplicates} duplicates`);
      print(`  per message (patch accepted → robot): p50 ${ms(delivery.latencyMs.p50)}, p99 ${ms(delivery.latencyMs.p99)}, max ${ms(delivery.latencyMs.max)}; operator ${massResult.cpuSeconds} CPU-s (${massResult.cpuSecondsPer1000} per 1,000); ${massResult.apiWritesPerNotification} API writes per notification; RSS max ${massResult.maxRssMiB} MiB; queue depth at most ${massPeaks.queue}, dispatcher backlog at most ${massPeaks.backlog}`);
      print(`    of which accepted → decided: p50 ${ms(massSplit.decideMs.p50)}, p99 ${ms(massSplit.decideMs.p99)}; decided → received: p50 ${ms(massSplit.deliverMs.p50)}, p99 ${ms(massSplit.deliverMs.p99)}`);
      if (N >= 10_000 && target.kind === 'herald') print(`  target: 1,000 delivered within 30 s, none lost — ${verdict(massResult.lastDeliveredMs / 1000, 30, 's')}; ${delivery.lost === 0 ? 'none lost' : `${delivery.lost} LOST`}`);
    }

    // ---- 4. capacity: step-up ---------------------------------------------------------
    if (options.phases.includes('capacity')) {
      const steps: Array<StepVerdict & { delivered: number; expected: number; duplicates: number; p99Ms: number }> = [];
      let k0 = options.phases.includes('churn') ? options.rate * options.duration : 0;
      for (const rate of options.capacityRates) {
        await operator.waitIdle(Date.now(), 2000);
        const from = robot.requests.length;
        const offset = k0;
        const run = await drive(rate, options.capacityStepSeconds, 3, (k) => order[(offset + k) % N]!);
        k0 += run.changes.length;
        const end = run.start + run.sentMs;
        const expected = run.changes.filter((c) => !c.error);
        // Let the step drain before judging (and before the next step starts clean).
        await waitUntil(() => deliveredCount(expected, from)() >= expected.length, 300_000, 30_000, deliveredCount(expected, from));
        const receipts = firstReceipts(robot.requests, from);
        const timed = run.changes.map((c) => ({ app: c.app, acceptedAt: c.acceptedAt, deliveredAt: receipts.get(c.rev12) }));
        const series = backlogSeries(timed, run.start, end, 1000);
        const delivery = match(expected, robot.requests, from);
        const step = { ...judgeStep(rate, run.achievedRate, series), delivered: delivery.received, expected: delivery.expected, duplicates: delivery.duplicates, p99Ms: delivery.latencyMs.p99 };
        steps.push(step);
        print(`capacity: ${rate}/s for ${options.capacityStepSeconds} s (${round(run.achievedRate)}/s achieved): ${step.verdict}; backlog at the end ${step.endOutstanding}, at most ${step.maxOutstanding} in the second half, growing ${round(step.growthPerSecond)}/s; p99 ${ms(step.p99Ms)}; ${step.delivered}/${step.expected} delivered, ${step.duplicates} duplicates`);
        if (!keepStepping(steps)) break;
      }
      await operator.waitIdle(Date.now(), 2000);
      const capacity = capacityOf(steps);
      results.capacity = { ...capacity, stepSeconds: options.capacityStepSeconds, steps: steps.map((s) => ({ ...s, growthPerSecond: round(s.growthPerSecond, 2), achievedRate: round(s.achievedRate) })) };
      const note = target.kind === 'herald' && plan.names.length === 1 ? ' (herald sends at most 10,000 a minute, 166/s, on one channel: the schema\'s highest rateLimit)' : '';
      print(`capacity: sustained ${formatCapacity(capacity)} (${capacity.limitedBy === 'backlog' ? `the backlog grew at ${capacity.firstFailedRate}/s` : capacity.limitedBy === 'load generator' ? `the load generator fell short at ${capacity.firstFailedRate}/s` : 'every step was sustained'})${note}`);
    }

    const scrapeStart = treeCpuSeconds(operator.pid);
    const scrapeWall = Date.now();
    for (let i = 0; i < 5; i++) await scrape();
    const scrapeCost = { cpuMs: Math.round(((treeCpuSeconds(operator.pid) - scrapeStart) * 1000) / 5), wallMs: Math.round((Date.now() - scrapeWall) / 5) };
    print(`one /metrics scrape costs the operator about ${scrapeCost.cpuMs} ms of CPU (${scrapeCost.wallMs} ms to answer); not scraped during the runs`);

    const finalPeak = memory(operator.pid).peakRssMiB;
    sampler.stop();
    await operator.stop();
    operator = undefined;

    // ---- herald's CPU profile, cut into the phases -----------------------------------
    let profile: Record<string, ProfileSummary> | undefined;
    let profileFile: string | undefined;
    if (options.cpuProfileDir) {
      const files = readdirSync(options.cpuProfileDir).filter((f) => f.endsWith('.cpuprofile'));
      const newest = files.map((f) => join(options.cpuProfileDir!, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
      if (newest) {
        print(`CPU profile: ${newest}`);
        profileFile = newest;
        profile = { coldStart: summariseProfile(newest, 0, coldEndMono) };
        for (const phase of ['churn', 'massSync'] as const) {
          const window = (results[phase] as { profileWindowUs?: [number, number] } | undefined)?.profileWindowUs;
          if (window) profile[phase] = summariseProfile(newest, window[0], window[1]);
        }
        for (const [phase, summary] of Object.entries(profile)) printSummary(`profile, ${phase}`, summary, print);
      }
    }

    printJson({
      bench: 'engine',
      date: startedAt.toISOString(),
      operator: target.kind,
      label: target.label,
      apps: N,
      channels: plan.names.length,
      machine: { ...machine(), kubernetes: cp.version, note: 'etcd, kube-apiserver, the operator and the load generator (with the local robot) share this machine' },
      appBytes: storedBytes,
      createMs,
      operatorWorkers: target.kind === 'herald' ? options.workers ?? 8 : undefined,
      processors: target.kind === 'anchor' ? options.processors : undefined,
      kubeClient: target.kind === 'anchor' ? { qps: options.kubeQps, burst: options.kubeBurst } : undefined,
      coldStart: cold,
      ...results,
      peakRssMiB: round(finalPeak),
      metricsScrape: scrapeCost,
      ...(profile
        ? {
            profile: Object.fromEntries(
              Object.entries(profile).map(([phase, s]) => [phase, { busyMs: s.busyMs, areas: s.areas.slice(0, 6), selfTop: s.selfTop.slice(0, 6), inclusiveTop: s.inclusiveTop.slice(0, 6) }]),
            ),
            profileFile,
          }
        : {}),
      targets: N >= 10_000 && target.kind === 'herald' ? heraldTargets(cold, results, finalPeak) : undefined,
    });
    return 0;
  } finally {
    if (operator) await operator.stop().catch(() => undefined);
    await robot.close();
    await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[engine] ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
