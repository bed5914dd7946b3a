// What the operator would decide for one trigger and one Application, condition by
// condition and channel by channel, with the reasons. Pure: it runs the operator's
// own decide() (engine.ts) and evaluateTrigger() on data the caller has read.
import { ANNOTATIONS } from '../api/groups.js';
import type { DingTalkChannel, NotificationTemplate } from '../api/generated.js';
import { isFresh, type Application } from '../controller/app-reconciler.js';
import { complete, plan, type Decision, type RenderOutcome } from '../controller/engine.js';
import { isFirstSightKey, lastNotified, ledgerKey, migrateLedger, migrateLedgerKey, parseLedgerKey, parseNotified, parseOutbox, RECORDED_AT_FIRST_SIGHT, type NotifiedLedger, type Outbox } from '../controller/ledger.js';
import { resolveScoped, routesFor, type NamespacedLookup, type ObjectRef } from '../controller/routing.js';
import type { NotificationTemplateSpec } from '../api/generated.js';
import { compileTemplate, formatTemplateErrors, initiatorOf, renderTemplate, type RenderedNotification, type TemplateContext } from '../templates/index.js';
import { evaluateTrigger, type CompiledTrigger, type ConditionOutcome } from '../triggers/index.js';

export interface ExplainInput {
  app: Application;
  triggerName: string;
  triggerRef: ObjectRef;
  compiled: CompiledTrigger;
  controlNamespace: string;
  channels: NamespacedLookup<DingTalkChannel>;
  templates: NamespacedLookup<NotificationTemplate>;
  /** Only this channel (resolved in the app's scope), routed or not. */
  channel?: ObjectRef;
  context: Record<string, string>;
  now: Date;
  /** Renders a template as the operator does (render processes, budgets); default: in this process, output cap only. */
  render?: (spec: NotificationTemplateSpec, context: TemplateContext) => Promise<RenderedNotification>;
}

export type ChannelVerdict =
  | { kind: 'send'; templates: string[]; problems?: string }
  | { kind: 'record' }
  | { kind: 'suppressed-recorded' }
  | { kind: 'suppressed-ledger'; notifiedAt: number }
  | { kind: 'suppressed-outbox'; attempts: number; parked?: string }
  | { kind: 'rearm' }
  | { kind: 'nothing' }
  | { kind: 'problem'; message: string };

export interface ChannelLine {
  channel: ObjectRef;
  key: string;
  verdict: ChannelVerdict;
}

export interface ConditionLine {
  index: number;
  /** The condition's name, its identity in the send ledger. */
  name: string;
  description?: string;
  when: string;
  oncePer?: string;
  send: readonly string[];
  outcome: ConditionOutcome;
  /** The oncePer value, when the condition fired and has oncePer. */
  oncePerValue?: string;
  /** What was missing or what failed. */
  detail?: string;
  channels: ChannelLine[];
}

export interface TriggerExplanation {
  conditions: ConditionLine[];
  /** Channels the trigger goes to for this app (or the one asked for). */
  channels: ObjectRef[];
  /** Whether the channels come from routing (subscriptions, annotation) or from --channel. */
  routed: boolean;
  routingProblems: string[];
  /** Ledger entries of this trigger already on the app: key → unix seconds. */
  ledger: Array<{ key: string; at: number }>;
  /** Outbox entries of this trigger waiting for delivery. */
  outbox: Array<{ key: string; template: string; channel: string; attempts: number; parked?: string }>;
  /** notified(trigger) as the CEL function sees it now. */
  lastNotified?: number;
  damagedAnnotations: string[];
  /** The operator waits: the operation finished after Argo CD's last reconcile. */
  waitingForArgo: boolean;
}

export async function explainTrigger(input: ExplainInput): Promise<TriggerExplanation> {
  const { app, triggerName } = input;
  const appNamespace = app.metadata.namespace!;
  const annotations = app.metadata.annotations ?? {};
  const notified = parseNotified(annotations[ANNOTATIONS.notified]);
  const outboxParsed = parseOutbox(annotations[ANNOTATIONS.outbox]);
  // Keys written before conditions had names read as the condition at their index, as in the operator.
  const conditionNames = (trigger: string) => (trigger === triggerName ? input.compiled.conditions.map((c) => c.name) : undefined);
  const ledger: NotifiedLedger = migrateLedger(notified.ledger, conditionNames);
  const outbox: Outbox = outboxParsed.outbox;
  const damagedAnnotations = [...(notified.damaged ? [ANNOTATIONS.notified] : []), ...(outboxParsed.damaged ? [ANNOTATIONS.outbox] : [])];

  const routing = routesFor({ namespace: appNamespace, labels: app.metadata.labels, annotations }, input.controlNamespace, input.channels);
  const channels = input.channel ? [input.channel] : routing.routes.filter((route) => route.trigger === triggerName).map((route) => route.channel);

  // The operator's decision, for exactly these channels; rendered as the operator renders (input.render).
  const planInput = {
    app: app as unknown as Record<string, any>,
    appUid: app.metadata.uid ?? `${appNamespace}/${app.metadata.name}`,
    now: input.now,
    routes: channels.map((channel) => ({ trigger: triggerName, channel })),
    context: input.context,
    initiator: initiatorOf(app),
    ledger,
    outbox,
    trigger: () => ({ ref: input.triggerRef, compiled: input.compiled }),
  };
  const planned = plan(planInput);
  const render = input.render ?? (async (spec: NotificationTemplateSpec, context: TemplateContext) => renderInProcess(spec, context));
  const outcomes = await Promise.all(
    planned.renders.map(async (planned): Promise<RenderOutcome> => {
      try {
        const ref = resolveScoped(input.templates, appNamespace, input.controlNamespace, planned.template);
        if (!ref) throw new Error(`no NotificationTemplate "${planned.template}" in namespace ${appNamespace}${appNamespace === input.controlNamespace ? '' : ` or ${input.controlNamespace}`}`);
        const spec = input.templates.get(ref.namespace, ref.name)!.spec;
        const compiled = compileTemplate(spec);
        if (!compiled.ok) throw new Error(`NotificationTemplate ${ref.namespace}/${ref.name} does not compile: ${formatTemplateErrors(compiled.errors)}`);
        return { ok: true, rendered: await render(spec, planned.context) };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
  const decision = complete(planned, outcomes, planInput);

  // The same lookup the engine hands to notified().
  const notifiedAt = (trigger: string) => lastNotified(ledger, outbox, trigger);
  const results = evaluateTrigger(input.compiled, app, input.now, notifiedAt);
  const pending = new Map(Object.values(outbox).map((entry) => [migrateLedgerKey(entry.key, conditionNames), entry]));

  const conditions = results.map((result): ConditionLine => {
    const condition = input.compiled.conditions[result.index]!;
    const lines = channels.map((channel): ChannelLine => {
      const key = ledgerKey(result.oncePer, triggerName, condition.name, channel.name);
      return { channel, key, verdict: verdictFor(result.fired, condition.oncePer !== undefined, key, channel, decision, ledger, pending) };
    });
    return {
      index: result.index,
      name: condition.name,
      ...(condition.description === undefined ? {} : { description: condition.description }),
      when: condition.when,
      ...(condition.oncePer === undefined ? {} : { oncePer: condition.oncePer }),
      send: condition.send,
      outcome: result.outcome,
      ...(result.oncePer === undefined ? {} : { oncePerValue: result.oncePer }),
      ...(result.missing ? { detail: result.missing } : result.error ? { detail: result.error } : {}),
      channels: lines,
    };
  });

  return {
    conditions,
    channels,
    routed: input.channel === undefined,
    routingProblems: routing.problems,
    ledger: Object.entries(ledger)
      .filter(([key]) => parseLedgerKey(key)?.trigger === triggerName)
      .map(([key, at]) => ({ key, at })),
    outbox: Object.values(outbox)
      .filter((entry) => entry.trigger === triggerName)
      .map((entry) => ({ key: entry.key, template: entry.template, channel: entry.channel, attempts: entry.attempts, ...(entry.parked ? { parked: entry.parked } : {}) })),
    ...(notifiedAt(triggerName) === undefined ? {} : { lastNotified: notifiedAt(triggerName) }),
    damagedAnnotations,
    waitingForArgo: !isFresh(app),
  };
}

function verdictFor(
  fired: boolean,
  hasOncePer: boolean,
  key: string,
  channel: ObjectRef,
  decision: Decision,
  ledger: NotifiedLedger,
  pending: Map<string, Outbox[string]>,
): ChannelVerdict {
  if (!fired) return !hasOncePer && decision.rearmed.includes(key) ? { kind: 'rearm' } : { kind: 'nothing' };
  const sent = decision.newEntries.filter((e) => e.entry.key === key).map((e) => e.entry.template);
  const problems = decision.problems
    .filter((p) => p.channel?.name === channel.name && p.channel.namespace === channel.namespace)
    .map((p) => `${p.template ? `${p.template}: ` : ''}${p.message}`)
    .join('; ');
  if (sent.length > 0) return { kind: 'send', templates: sent, ...(problems ? { problems } : {}) };
  if (decision.recorded.includes(key)) return { kind: 'record' };
  if (ledger[key] === RECORDED_AT_FIRST_SIGHT) return { kind: 'suppressed-recorded' };
  if (key in ledger) return { kind: 'suppressed-ledger', notifiedAt: ledger[key]! };
  const waiting = pending.get(key);
  if (waiting) return { kind: 'suppressed-outbox', attempts: waiting.attempts, ...(waiting.parked ? { parked: waiting.parked } : {}) };
  return { kind: 'problem', message: problems || 'nothing would be sent' };
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');

function describeVerdict(verdict: ChannelVerdict): string {
  switch (verdict.kind) {
    case 'send':
      return `would send ${verdict.templates.join(', ')}${verdict.problems ? ` (cannot send: ${verdict.problems})` : ''}`;
    case 'record':
      return 'first sight: would be recorded in the ledger, not sent (old news; see "First start" in the user guide)';
    case 'suppressed-recorded':
      return 'suppressed: recorded at first sight, never sent (in the ledger)';
    case 'suppressed-ledger':
      return `suppressed: already notified at ${iso(verdict.notifiedAt)} (in the ledger)`;
    case 'suppressed-outbox':
      return `suppressed: already decided, waiting in the outbox (attempts ${verdict.attempts}${verdict.parked ? `, parked: ${verdict.parked}` : ''})`;
    case 'rearm':
      return 'not sending; the ledger entry is removed, so it sends again the next time the condition holds';
    case 'nothing':
      return 'nothing to send';
    case 'problem':
      return `cannot send: ${verdict.message}`;
  }
}

const OUTCOME_TEXT: Record<ConditionOutcome, string> = {
  fired: 'fired',
  not_fired: 'not fired',
  missing_field: 'not fired (missing field)',
  error: 'error',
};

/** The explanation as text, one block per condition. */
export function formatExplanation(explanation: TriggerExplanation, header: string[]): string {
  const out = [...header];
  if (explanation.waitingForArgo) {
    out.push('', 'note: the last operation finished after Argo CD last reconciled this Application; the operator waits for the next reconcile before evaluating it');
  }
  for (const annotation of explanation.damagedAnnotations) out.push('', `note: the annotation ${annotation} is not valid JSON; the operator ignores it`);
  for (const condition of explanation.conditions) {
    out.push('', `conditions[${condition.index}] ${condition.name}: ${OUTCOME_TEXT[condition.outcome]}${condition.detail ? `: ${condition.detail}` : ''}`);
    if (condition.description) out.push(`  description: ${condition.description}`);
    out.push(`  when:    ${oneLine(condition.when)}`);
    if (condition.oncePer === undefined) out.push('  oncePer: (none: sends once while the condition holds)');
    else {
      out.push(`  oncePer: ${oneLine(condition.oncePer)}`);
      out.push(`  oncePer value: ${condition.oncePerValue === undefined ? '(not evaluated: the condition did not fire)' : JSON.stringify(condition.oncePerValue)}`);
    }
    out.push(`  send:    ${condition.send.join(', ')}`);
    for (const line of condition.channels) {
      out.push(`  channel ${line.channel.namespace}/${line.channel.name}: ${describeVerdict(line.verdict)}`);
      out.push(`    ledger key: ${line.key}`);
    }
  }
  out.push('');
  if (explanation.channels.length === 0) out.push('Channels: none; no DingTalkChannel subscription or herald.gitops.dev/subscribe.<trigger> annotation routes this trigger for this Application');
  else out.push(`Channels (${explanation.routed ? 'routed' : 'given with --channel'}): ${explanation.channels.map((c) => `${c.namespace}/${c.name}`).join(', ')}`);
  for (const problem of explanation.routingProblems) out.push(`  routing problem: ${problem}`);
  if (explanation.ledger.length === 0) out.push('Ledger: no entry for this trigger');
  else {
    out.push('Ledger:');
    for (const entry of explanation.ledger) {
      const note = isFirstSightKey(entry.key) ? '  (first sight: herald evaluated the trigger for this channel since then)' : '';
      out.push(`  ${entry.key}  ${entry.at === RECORDED_AT_FIRST_SIGHT ? 'recorded at first sight, not sent' : iso(entry.at)}${note}`);
    }
  }
  for (const entry of explanation.outbox) out.push(`Outbox: ${entry.key} template ${entry.template} to ${entry.channel}, attempts ${entry.attempts}${entry.parked ? `, parked: ${entry.parked}` : ''}`);
  if (explanation.lastNotified !== undefined) out.push(`notified(trigger): ${iso(explanation.lastNotified)}`);
  return `${out.join('\n')}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Renders in this process, with the output cap only (callers without render processes). */
function renderInProcess(spec: NotificationTemplateSpec, context: TemplateContext): RenderedNotification {
  const compiled = compileTemplate(spec);
  if (!compiled.ok) throw new Error(formatTemplateErrors(compiled.errors));
  return renderTemplate(compiled.template, context);
}
