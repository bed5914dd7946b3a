// The controller's object graph: which component gets which callbacks. Watch events
// become keys on two work queues; the app reconciler hands outboxes to delivery;
// delivery's answers go through the MailStore and the channel status. Leadership and
// lifecycle are operator.ts's; the scope pass after a configuration change too.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config.js';
import { ContextSource } from '../context/source.js';
import { errorMessage } from '../errors.js';
import { EventRecorder } from '../kube/events.js';
import { KubeWriter } from '../kube/patch.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { AppReconciler, type Application } from './app-reconciler.js';
import { Caches, configKey } from './caches.js';
import { ChannelStatus } from './channel-status.js';
import { ConfigReconciler } from './config-reconciler.js';
import { Delivery } from './delivery.js';
import { MailStore } from './mail-store.js';
import { TemplateRenderer } from './rendering.js';
import { WorkQueue } from './queue.js';
import { ConfigStore } from './store.js';

export interface ControllerDeps {
  config: Config;
  kc: KubeConfig;
  log: Logger;
  metrics: Metrics;
}

export interface ControllerHooks {
  isLeader: () => boolean;
  /** A trigger, template or channel of this namespace changed: its apps need another look. */
  scopeChanged: (namespace: string) => void;
}

export type Components = ReturnType<typeof wireController>;

const channelKey = (namespace: string, name: string) => configKey('DingTalkChannel', namespace, name);

export function wireController({ config, kc, log, metrics }: ControllerDeps, hooks: ControllerHooks) {
  const store = new ConfigStore();
  const writer = new KubeWriter(kc);
  const events = new EventRecorder(kc, config.identity, log);
  const appQueue = new WorkQueue('applications', (depth) => metrics.queueDepth.set({ queue: 'applications' }, depth));
  const configQueue = new WorkQueue('config', (depth) => metrics.queueDepth.set({ queue: 'config' }, depth));
  const { controlNamespace, watchTimeoutSeconds } = config;
  const caches = new Caches({
    kc,
    log,
    metrics,
    controlNamespace,
    namespaces: config.namespaces,
    watchTimeoutSeconds,
    appChanged: (appKey) => appQueue.add(appKey),
    configChanged: (key) => configQueue.add(key),
    secretChanged: (namespace, secret) => {
      for (const name of store.channelsUsingSecret(namespace, secret)) configQueue.add(channelKey(namespace, name));
    },
  });
  const getApp = (namespace: string, name: string) => caches.getApp(namespace, name);
  const context = new ContextSource({ kc, namespace: controlNamespace, name: config.contextConfigMap, overrides: config.contextOverrides, log, events, watchTimeoutSeconds });
  const mail = new MailStore({ getApp, writer, log, requeue: (appKey) => appQueue.addRateLimited(appKey), decisionDelayMs: config.decisionWriteDelayMs });
  const delivery: Delivery = new Delivery({
    store,
    mail,
    events,
    metrics,
    log,
    involvedFor: (appKey) => apps.involvedFor(appKey),
    channelStatus: new ChannelStatus({
      store,
      write: (namespace, name, status) => writer.patchHeraldStatus('dingtalkchannels', namespace, name, status),
      changed: (namespace, name) => configQueue.add(channelKey(namespace, name)),
      writeFailed: (namespace, name, error) => log.warn('could not write the channel status', { channel: `${namespace}/${name}`, error: errorMessage(error) }),
    }),
    muteMs: config.dingtalkMuteSeconds * 1000,
    sentEvents: config.sentEvents,
  });
  const renderer = new TemplateRenderer({
    store,
    controlNamespace,
    limits: config.render,
    events,
    log,
    metrics,
    statusChanged: (namespace, name) => configQueue.addAfter(configKey('NotificationTemplate', namespace, name), 1000),
  });
  const apps: AppReconciler = new AppReconciler({
    renderer,
    getApp,
    store,
    mail,
    events,
    log,
    metrics,
    controlNamespace,
    get context() {
      return context.current(); // the ConfigMap as of now: edits apply without a restart
    },
    isLeader: hooks.isLeader,
    deliver: (appKey, outbox) => delivery.deliver(appKey, outbox),
    firstSight: { mode: config.onFirstSight, windowMs: config.firstSightWindowSeconds * 1000, inFirstList: (app) => caches.inFirstList(app as Application) },
    evaluationError: (trigger, message) => {
      const entry = store.triggers.get(trigger.namespace, trigger.name);
      if (!entry || entry.lastEvaluationError === message) return;
      entry.lastEvaluationError = message;
      configQueue.addAfter(configKey('NotificationTrigger', trigger.namespace, trigger.name), 1000);
    },
  });
  const configReconciler = new ConfigReconciler({
    store,
    sources: caches,
    writer,
    events,
    log,
    metrics,
    isLeader: hooks.isLeader,
    celLimits: config.cel,
    allowedHosts: config.dingtalkAllowedHosts,
    scopeChanged: hooks.scopeChanged,
    channelChanged: (namespace, name) => delivery.channelChanged(namespace, name),
    muteMs: config.dingtalkMuteSeconds * 1000,
    recheckChannel: (namespace, name, ms) => configQueue.addAfter(channelKey(namespace, name), ms),
  });
  return { appQueue, configQueue, caches, context, mail, delivery, renderer, apps, configReconciler };
}
