// The outbox and ledger of one Application as a value, and every change an entry can
// go through, as pure functions (no I/O, no clock):
//
//   decide() ──queue──▶ waiting ──attempted──▶ waiting (attempts, next)
//                          │ └──parked / unparked──▶ waiting for a configuration fix
//                          ├──completed──▶ ledger (the channel accepted it; not if re-armed)
//                          ├──rejected───▶ ledger (the channel refused this one message on its own)
//                          └──fold───────▶ ledger, reported by the channel's fold entry
//
// mail-store.ts is the only writer of the two annotations; it applies these.
import type { OutgoingMessage } from '../channels/channel.js';
import { metaTime } from './conditions.js';
import { parseLedgerKey, serialiseNotified, serialiseOutbox, type NotifiedLedger, type Outbox, type OutboxEntry } from './ledger.js';

/** One Application's durable delivery state: herald.gitops.dev/notified and herald.gitops.dev/outbox. */
export interface Mail {
  ledger: NotifiedLedger;
  outbox: Outbox;
}

/** Entries per Application outbox. */
export const OUTBOX_MAX_ENTRIES = 30;
/** Bytes of all herald-readable annotations together stay under this (the API server allows 256 KiB). */
export const ANNOTATIONS_BUDGET_BYTES = 64 * 1024;
/** The outbox always gets at least this much, even on an Application whose other annotations are large. */
export const OUTBOX_MIN_BYTES = 8 * 1024;
/** Lines a fold entry lists (the most recent folded messages). */
const FOLD_LINES = 10;

export interface OutboxLimits {
  maxEntries: number;
  maxBytes: number;
}

/** The outbox's limits on an Application whose other annotations take `otherBytes` (keys and values). */
export function outboxLimits(otherBytes: number): OutboxLimits {
  return { maxEntries: OUTBOX_MAX_ENTRIES, maxBytes: Math.max(OUTBOX_MIN_BYTES, ANNOTATIONS_BUDGET_BYTES - otherBytes) };
}

/** Bytes the outbox annotation's value takes (as the API server counts: UTF-8). */
export function outboxBytes(outbox: Outbox): number {
  const text = serialiseOutbox(outbox);
  return text === null ? 0 : Buffer.byteLength(text, 'utf8');
}

/** Bytes the ledger annotation's value takes once serialised (oldest entries evicted). */
export function ledgerBytes(ledger: NotifiedLedger): number {
  const text = serialiseNotified(ledger);
  return text === null ? 0 : Buffer.byteLength(text, 'utf8');
}

/** Order in which an app's messages go out: as decided, then as listed in one decision. */
export function byDecision(a: OutboxEntry, b: OutboxEntry): number {
  return a.decided - b.decided || (a.order ?? 0) - (b.order ?? 0);
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

function withOutbox(mail: Mail, outbox: Outbox): Mail {
  return { ledger: mail.ledger, outbox };
}

// ---- queue -----------------------------------------------------------------

export interface Decided {
  newEntries: Array<{ id: string; entry: OutboxEntry }>;
  /** Ledger keys whose condition stopped holding: they may send again. */
  rearmed: string[];
  /** Waiting entries whose condition stopped holding: deliver, but do not enter the ledger. */
  rearmPending: string[];
}

export interface FoldContext {
  limits: OutboxLimits;
  nowMs: number;
  /** `namespace/name` of the Application, for the fold entry's text. */
  app: string;
  /** A keyword of the channel, when it has any: a fold entry must carry one or DingTalk drops it. */
  keyword?: (channelNamespace: string, channel: string) => string | undefined;
}

export interface FoldReport {
  /** `namespace/name` of the channel. */
  channel: string;
  /** Messages folded by this change. */
  count: number;
  /** Of which superseded by a newer message for the same trigger. */
  superseded: number;
}

/** New entries from decide() enter the outbox (in decision order); then it is folded if over its limits. */
export function queue(mail: Mail, decided: Decided, context: FoldContext): { mail: Mail; folded: FoldReport[] } {
  const outbox: Outbox = { ...mail.outbox };
  for (const id of decided.rearmPending) if (outbox[id]) outbox[id] = { ...outbox[id]!, rearm: true };
  decided.newEntries.forEach(({ id, entry }, order) => {
    outbox[id] = { ...entry, order };
  });
  const ledger: NotifiedLedger = { ...mail.ledger };
  for (const key of decided.rearmed) delete ledger[key];
  return fold({ ledger, outbox }, context);
}

// ---- attempts --------------------------------------------------------------

/** A transient failure: the entry waits until `next`. */
export function attemptedEntry(entry: OutboxEntry, attempts: number, next: number): OutboxEntry {
  return { ...entry, attempts, next };
}

export function attempted(mail: Mail, id: string, attempts: number, next: number): Mail | undefined {
  const entry = mail.outbox[id];
  if (!entry || (entry.attempts === attempts && entry.next === next)) return undefined;
  return withOutbox(mail, { ...mail.outbox, [id]: attemptedEntry(entry, attempts, next) });
}

/** The entry waits for a configuration fix (keyword missing, robot refused the token…). */
export function parkedEntry(entry: OutboxEntry, reason: string): OutboxEntry {
  return { ...entry, parked: reason };
}

export function unparkedEntry(entry: OutboxEntry): OutboxEntry {
  const { parked: _parked, ...rest } = entry;
  return rest;
}

/** Persisted park: counts the attempt; undefined when it is already parked for that reason. */
export function parked(mail: Mail, id: string, reason: string): Mail | undefined {
  const entry = mail.outbox[id];
  if (!entry || entry.parked === reason) return undefined;
  return withOutbox(mail, { ...mail.outbox, [id]: parkedEntry({ ...entry, attempts: entry.attempts + 1 }, reason) });
}

export function unparked(mail: Mail, id: string): Mail | undefined {
  const entry = mail.outbox[id];
  if (!entry?.parked) return undefined;
  return withOutbox(mail, { ...mail.outbox, [id]: unparkedEntry(entry) });
}

// ---- leaving the outbox ----------------------------------------------------

/**
 * Out of the outbox and, unless re-armed or a fold entry, into the ledger. A fold entry
 * that has counted more folded messages since the version in `sent` stays, reporting
 * only those.
 */
function settle(mail: Mail, ids: string[], nowMs: number, sent: Outbox = {}): Mail | undefined {
  const present = ids.filter((id) => mail.outbox[id]);
  if (present.length === 0) return undefined;
  const outbox: Outbox = { ...mail.outbox };
  const ledger: NotifiedLedger = { ...mail.ledger };
  for (const id of present) {
    const entry = outbox[id]!;
    delete outbox[id];
    const reported = sent[id]?.folded?.count;
    if (entry.folded && reported !== undefined && entry.folded.count > reported) outbox[id] = foldRemainder(entry, entry.folded.count - reported);
    if (!entry.rearm && !entry.folded) ledger[entry.key] = seconds(nowMs);
  }
  return { ledger, outbox };
}

/**
 * The channel accepted these entries (one request or one digest). `sent` holds the
 * entries as they were sent, when known: a fold entry folded into again while it was
 * on its way is not lost.
 */
export function completed(mail: Mail, ids: string[], nowMs: number, sent?: Outbox): Mail | undefined {
  return settle(mail, ids, nowMs, sent);
}

/**
 * The channel refused this one message on its own (never a digest: a refused digest is
 * split and sent again). It is recorded as handled, so the same state is not sent again;
 * the caller reports it (Event NotificationFailed).
 */
export function rejected(mail: Mail, id: string, nowMs: number): Mail | undefined {
  return settle(mail, [id], nowMs);
}

// ---- folding ---------------------------------------------------------------

export function foldId(channelNamespace: string, channel: string): string {
  return `herald-folded#${channelNamespace}/${channel}`;
}

export const FOLD_TRIGGER = 'herald-folded';

const plural = (count: number): string => `${count} earlier notification${count === 1 ? '' : 's'}`;

function foldLine(entry: OutboxEntry): string {
  if (entry.folded) return `${entry.folded.count} folded before`;
  const oncePer = parseLedgerKey(entry.key)?.oncePer;
  const what = oncePer ? `${entry.trigger} (${oncePer.length > 40 ? `${oncePer.slice(0, 40)}…` : oncePer})` : entry.trigger;
  return `${what}, decided ${metaTime(entry.decided)}`;
}

/** The message that reports folded messages: what it says is rebuilt from `folded` on every fold. */
function foldBody(app: string, channel: string, folded: { count: number; lines: string[] }, keyword: string | undefined): Record<string, unknown> {
  const title = `${keyword ? `${keyword} ` : ''}${app}: ${plural(folded.count)} folded`;
  const shown = folded.lines.length < folded.count ? ` (the latest ${folded.lines.length})` : '';
  const text = [
    `#### ${title}`,
    '',
    `While channel ${channel} could not take them, the outbox of Application **${app}** reached its limit, ` +
      `so herald folded ${plural(folded.count)} into this one; newer ones follow separately.`,
    '',
    `Folded${shown}:`,
    '',
    ...folded.lines.map((line) => `- ${line}`),
  ].join('\n');
  const message: OutgoingMessage = {
    rendered: { message: text, dingtalk: { msgType: 'markdown', title, text } },
    about: { app, event: `${plural(folded.count)} folded` },
  };
  return message as unknown as Record<string, unknown>;
}

/** The latest `count` of a fold entry's folded messages, for a fold entry whose earlier ones were reported. */
function foldRemainder(entry: OutboxEntry, count: number): OutboxEntry {
  const folded = { count, lines: entry.folded!.lines.slice(-Math.min(count, entry.folded!.lines.length)) };
  const message = entry.body as unknown as OutgoingMessage;
  const app = message.about?.app ?? '';
  const title = message.rendered.dingtalk?.title ?? '';
  const keyword = title.startsWith(`${app}: `) ? undefined : title.slice(0, title.indexOf(` ${app}: `)) || undefined;
  return { ...entry, folded, body: foldBody(app, entry.channel, folded, keyword) };
}

function within(outbox: Outbox, limits: OutboxLimits): boolean {
  return Object.keys(outbox).length <= limits.maxEntries && outboxBytes(outbox) <= limits.maxBytes;
}

/**
 * Keeps the outbox within its limits. First a newer message for the same trigger and
 * channel supersedes older ones; if that is not enough, the oldest messages go. Either
 * way a folded message enters the ledger (it is not decided again) and is counted in
 * its channel's fold entry, which says how many were folded. Unchanged when within limits.
 */
export function fold(mail: Mail, context: FoldContext): { mail: Mail; folded: FoldReport[] } {
  if (within(mail.outbox, context.limits)) return { mail, folded: [] };
  const outbox: Outbox = { ...mail.outbox };
  const ledger: NotifiedLedger = { ...mail.ledger };
  const reports = new Map<string, FoldReport>();

  const foldAway = (id: string, superseded: boolean): void => {
    const entry = outbox[id]!;
    delete outbox[id];
    if (!entry.rearm) ledger[entry.key] = seconds(context.nowMs);
    const target = foldId(entry.channelNamespace, entry.channel);
    const previous = outbox[target];
    const count = (previous?.folded?.count ?? 0) + 1;
    const lines = [...(previous?.folded?.lines ?? []), foldLine(entry)].slice(-FOLD_LINES);
    const channel = `${entry.channelNamespace}/${entry.channel}`;
    outbox[target] = {
      channel: entry.channel,
      channelNamespace: entry.channelNamespace,
      key: `${FOLD_TRIGGER}:${channel}`,
      trigger: FOLD_TRIGGER,
      template: '',
      body: foldBody(context.app, entry.channel, { count, lines }, context.keyword?.(entry.channelNamespace, entry.channel)),
      attempts: previous?.attempts ?? 0,
      next: previous?.next ?? 0,
      // Reports older messages, so it goes before the newer ones of this app.
      decided: Math.min(previous?.decided ?? entry.decided, entry.decided),
      order: -1,
      folded: { count, lines },
    };
    const report = reports.get(channel) ?? { channel, count: 0, superseded: 0 };
    report.count++;
    if (superseded) report.superseded++;
    reports.set(channel, report);
  };

  const messages = () => Object.entries(outbox).filter(([, entry]) => !entry.folded);

  // 1. Per channel and trigger, only the newest message's ledger key stays.
  const newest = new Map<string, OutboxEntry>();
  for (const [, entry] of messages()) {
    const group = `${entry.channelNamespace}/${entry.channel}\u0000${entry.trigger}`;
    const current = newest.get(group);
    if (!current || byDecision(current, entry) < 0) newest.set(group, entry);
  }
  for (const [id, entry] of messages().sort(([, a], [, b]) => byDecision(a, b))) {
    if (newest.get(`${entry.channelNamespace}/${entry.channel}\u0000${entry.trigger}`)!.key !== entry.key) foldAway(id, true);
  }
  // 2. The oldest messages, until the outbox fits.
  for (const [id] of messages().sort(([, a], [, b]) => byDecision(a, b))) {
    if (within(outbox, context.limits)) break;
    foldAway(id, false);
  }
  return { mail: { ledger, outbox }, folded: [...reports.values()] };
}
