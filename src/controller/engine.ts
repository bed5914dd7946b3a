// The notification decision for one Application, as a pure function: given the app,
// the resolved configuration and the app's ledger and outbox, which new messages are
// due (rendered, ready for the outbox), which ledger entries are re-armed, and what is
// recorded instead of sent because herald sees the app with a trigger and channel for
// the first time (first sight, see first-sight.ts). No I/O, no clock (`now` is an input).
// In two steps around the rendering, which runs elsewhere (render processes, async):
// plan() says what to render, complete() turns the renders into outbox entries;
// decide() is both with a synchronous render.
import type { OutgoingMessage } from '../channels/channel.js';
import { errorMessage } from '../errors.js';
import type { RenderedNotification, TemplateContext } from '../templates/types.js';
import type { CompiledTrigger, ConditionOutcome } from '../triggers/index.js';
import { evaluateTrigger } from '../triggers/index.js';
import { firstSightMode, isNews, DEFAULT_FIRST_SIGHT, type FirstSightPolicy } from './first-sight.js';
import {
  firstSightKey,
  lastNotified,
  ledgerKey,
  migrateLedger,
  migrateLedgerKey,
  outboxId,
  parseLedgerKey,
  RECORDED_AT_FIRST_SIGHT,
  type NotifiedLedger,
  type Outbox,
  type OutboxEntry,
} from './ledger.js';
import type { ObjectRef, Route } from './routing.js';

export interface ResolvedTrigger {
  ref: ObjectRef;
  compiled: CompiledTrigger | undefined;
}

export interface PlanInput {
  app: Record<string, any>;
  appUid: string;
  now: Date;
  routes: Route[];
  /** Trigger by name, resolved in the app's scope; undefined when there is none. */
  trigger(name: string): ResolvedTrigger | undefined;
  context: Record<string, string>;
  initiator: string | undefined;
  ledger: NotifiedLedger;
  outbox: Outbox;
  /** What to do at first sight (--on-first-sight, --first-sight-window); default: record, 10 minutes. */
  firstSight?: FirstSightPolicy;
}

export interface DecisionInput extends PlanInput {
  /** Renders a template by name for one channel; throws when missing, invalid or failing. */
  render(template: string, context: TemplateContext): RenderedNotification;
}

/** One message a fired condition asks for: a template rendered for one channel. */
export interface PlannedRender {
  id: string;
  key: string;
  trigger: string;
  channel: ObjectRef;
  template: string;
  context: TemplateContext;
}

export type RenderOutcome = { ok: true; rendered: RenderedNotification } | { ok: false; error: unknown };

export interface Decision {
  /**
   * The ledger to write when anything is written: the input's, with legacy
   * `<index>.<hash>` keys of the triggers in the app's scope mapped to condition names
   * and the re-armed keys removed.
   */
  ledger: NotifiedLedger;
  newEntries: Array<{ id: string; entry: OutboxEntry }>;
  /** Ledger keys of conditions without oncePer that no longer hold: they may send again. */
  rearmed: string[];
  /**
   * Outbox ids whose condition (without oncePer) stopped holding before the message was
   * delivered: once delivered it must not enter the ledger, or the next time the
   * condition holds it would be suppressed.
   */
  rearmPending: string[];
  /**
   * Ledger keys written without sending: what held when the trigger was first evaluated
   * for this app and channel (value RECORDED_AT_FIRST_SIGHT), and the first-sight markers
   * (value: now). Both are in `ledger`; neither is a notification.
   */
  recorded: string[];
  evaluations: Array<{ trigger: string; outcome: ConditionOutcome | 'suppressed' | 'recorded' }>;
  evaluationErrors: Array<{ trigger: ObjectRef; index: number; message: string }>;
  problems: Array<{ trigger: string; channel?: ObjectRef; template?: string; message: string }>;
}

/** The decision before rendering: what to render instead of newEntries. */
export interface DecisionPlan extends Omit<Decision, 'newEntries'> {
  renders: PlannedRender[];
}

export function decide(input: DecisionInput): Decision {
  const planned = plan(input);
  const outcomes = planned.renders.map((render): RenderOutcome => {
    try {
      return { ok: true, rendered: input.render(render.template, render.context) };
    } catch (error) {
      return { ok: false, error };
    }
  });
  return complete(planned, outcomes, input);
}

/**
 * The rendered messages become outbox entries, in plan order; a failed render is a
 * problem of its trigger, template and channel, and nothing is decided for it.
 * @param outcomes one per planned render, in the same order
 */
export function complete(planned: DecisionPlan, outcomes: readonly RenderOutcome[], input: Pick<PlanInput, 'appUid' | 'now' | 'initiator'>): Decision {
  const { renders, ...rest } = planned;
  const decision: Decision = { ...rest, problems: [...rest.problems], newEntries: [] };
  const nowMs = input.now.getTime();
  renders.forEach((render, index) => {
    const outcome = outcomes[index];
    if (!outcome) throw new Error(`no render outcome for ${render.id}`);
    if (!outcome.ok) {
      decision.problems.push({ trigger: render.trigger, channel: render.channel, template: render.template, message: errorMessage(outcome.error) });
      return;
    }
    const body: OutgoingMessage = { rendered: outcome.rendered, initiator: input.initiator, idempotencyKey: `${input.appUid}:${render.id}:${nowMs}` };
    decision.newEntries.push({
      id: render.id,
      entry: {
        channel: render.channel.name,
        channelNamespace: render.channel.namespace,
        key: render.key,
        trigger: render.trigger,
        template: render.template,
        body: body as unknown as Record<string, unknown>,
        attempts: 0,
        next: 0,
        decided: nowMs,
      },
    });
  });
  return decision;
}

export function plan(input: PlanInput): DecisionPlan {
  const decision: DecisionPlan = { ledger: input.ledger, renders: [], rearmed: [], rearmPending: [], recorded: [], evaluations: [], evaluationErrors: [], problems: [] };
  const policy = input.firstSight ?? DEFAULT_FIRST_SIGHT;
  const recorded: NotifiedLedger = {};
  // Keys written before conditions had names are read as the condition at their index.
  const conditionNames = (trigger: string) => input.trigger(trigger)?.compiled?.conditions.map((condition) => condition.name);
  const ledger = migrateLedger(input.ledger, conditionNames);
  const outboxKey = (entry: OutboxEntry) => migrateLedgerKey(entry.key, conditionNames);
  const byTrigger = new Map<string, ObjectRef[]>();
  for (const route of input.routes) {
    const list = byTrigger.get(route.trigger) ?? [];
    list.push(route.channel);
    byTrigger.set(route.trigger, list);
  }
  const pendingKeys = new Set(Object.values(input.outbox).map(outboxKey));
  const notifiedAt = (trigger: string) => lastNotified(ledger, input.outbox, trigger);

  for (const [triggerName, channels] of byTrigger) {
    const resolved = input.trigger(triggerName);
    if (!resolved) {
      decision.problems.push({ trigger: triggerName, message: `no NotificationTrigger "${triggerName}" for this Application` });
      continue;
    }
    if (!resolved.compiled) continue; // invalid: its own status says why; nothing is decided until it is fixed
    const results = evaluateTrigger(resolved.compiled, input.app, input.now, notifiedAt);
    // First sight: channels this trigger was never evaluated for on this app. What holds
    // is recorded unless the trigger (or the flag) says Send or the app's state is news.
    const unmarked = channels.filter((channel) => !(firstSightKey(triggerName, channel.name) in ledger));
    const unseen = unmarked.filter((channel) => !seenBefore(ledger, input.outbox, triggerName, channel.name));
    const recordFor = new Set<string>();
    if (unseen.length > 0 && firstSightMode(resolved.compiled, policy) === 'record' && !isNews(input.app, input.now, policy)) {
      for (const channel of unseen) recordFor.add(channel.name);
    }
    if (!results.some((result) => result.outcome === 'error')) {
      // Without an evaluation error every condition's state is known: the pair counts as
      // seen from now on (an error leaves it unseen, to be recorded once it evaluates).
      for (const channel of unmarked) recorded[firstSightKey(triggerName, channel.name)] = Math.floor(input.now.getTime() / 1000);
    }
    for (const result of results) {
      const condition = resolved.compiled.conditions[result.index]!;
      if (result.outcome === 'error') {
        decision.evaluationErrors.push({ trigger: resolved.ref, index: result.index, message: result.error ?? 'evaluation failed' });
        decision.evaluations.push({ trigger: triggerName, outcome: 'error' });
        continue;
      }
      if (!result.fired) {
        decision.evaluations.push({ trigger: triggerName, outcome: result.outcome });
        if (condition.oncePer === undefined) {
          for (const channel of channels) {
            const key = ledgerKey(undefined, triggerName, condition.name, channel.name);
            if (key in ledger) decision.rearmed.push(key);
            for (const [id, entry] of Object.entries(input.outbox)) {
              if (outboxKey(entry) === key && !entry.rearm) decision.rearmPending.push(id);
            }
          }
        }
        continue;
      }
      let firedAny = false;
      let recordedAny = false;
      for (const channel of channels) {
        const key = ledgerKey(result.oncePer, triggerName, condition.name, channel.name);
        if (key in ledger || pendingKeys.has(key)) continue;
        if (recordFor.has(channel.name)) {
          recorded[key] = RECORDED_AT_FIRST_SIGHT;
          recordedAny = true;
          continue;
        }
        firedAny = true;
        for (const template of condition.send) {
          const context: TemplateContext = {
            app: input.app,
            context: input.context,
            trigger: triggerName,
            channel: { name: channel.name, type: 'dingtalk' },
            notificationType: 'dingtalk',
            initiator: input.initiator,
          };
          decision.renders.push({ id: outboxId(key, template), key, trigger: triggerName, channel, template, context });
        }
        pendingKeys.add(key);
      }
      decision.evaluations.push({ trigger: triggerName, outcome: firedAny ? 'fired' : recordedAny ? 'recorded' : 'suppressed' });
    }
  }
  decision.recorded = Object.keys(recorded);
  if (ledger !== input.ledger || decision.rearmed.length > 0 || decision.recorded.length > 0) {
    decision.ledger = { ...ledger, ...recorded };
    for (const key of decision.rearmed) delete decision.ledger[key];
  }
  return decision;
}

/**
 * Whether a herald from before first-sight markers evaluated `trigger` for this app and
 * `channel`: any ledger or outbox entry of the pair.
 */
function seenBefore(ledger: NotifiedLedger, outbox: Outbox, trigger: string, channel: string): boolean {
  for (const key of Object.keys(ledger)) {
    const parsed = parseLedgerKey(key);
    if (parsed?.trigger === trigger && parsed.channel === channel) return true;
  }
  return Object.values(outbox).some((entry) => entry.trigger === trigger && entry.channel === channel);
}
