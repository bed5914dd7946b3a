// The two annotations herald keeps on each Application (DESIGN §3–4):
//   herald.gitops.dev/notified — send ledger: { "<oncePer>:<trigger>:<index>.<hash>:<channel>": unixSeconds }
//   herald.gitops.dev/outbox   — messages decided but not yet accepted by their channel.
// Pure parsing, keys and eviction; the reconciler does the patching.

export const LEDGER_LIMIT = 100;

export type NotifiedLedger = Record<string, number>;

export interface OutboxEntry {
  /** Channel name as resolved for this app (its namespace is in `channelNamespace`). */
  channel: string;
  channelNamespace: string;
  /** The ledger key this message completes. */
  key: string;
  trigger: string;
  template: string;
  /** The channel's request body, built once when the message was decided. */
  body: Record<string, unknown>;
  attempts: number;
  /** Unix milliseconds of the next attempt (0 = now). */
  next: number;
  /** Unix milliseconds when herald decided to send (latency is measured from here). */
  decided: number;
  /** Why the message waits for a configuration fix instead of being retried, if it does. */
  parked?: string;
  /** The condition (without oncePer) stopped holding while this waited: deliver, but do not enter the ledger. */
  rearm?: boolean;
  /** Position among the messages decided in the same evaluation (per-app order when `decided` ties). */
  order?: number;
  /** Set on the entry that reports messages folded away when the outbox was full (see outbox.ts). */
  folded?: { count: number; lines: string[] };
}

export type Outbox = Record<string, OutboxEntry>;

export function ledgerKey(oncePer: string | undefined, trigger: string, index: number, whenHash: string, channel: string): string {
  return `${oncePer ?? ''}:${trigger}:${index}.${whenHash}:${channel}`;
}

export interface ParsedLedgerKey {
  oncePer: string;
  trigger: string;
  condition: string;
  channel: string;
}

/** Splits from the right: names cannot hold ':', an oncePer value can. */
export function parseLedgerKey(key: string): ParsedLedgerKey | undefined {
  const parts = key.split(':');
  if (parts.length < 4) return undefined;
  const channel = parts.pop()!;
  const condition = parts.pop()!;
  const trigger = parts.pop()!;
  return { oncePer: parts.join(':'), trigger, condition, channel };
}

export function outboxId(key: string, template: string): string {
  return `${key}#${template}`;
}

function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A damaged annotation yields an empty ledger and `damaged: true`, never an exception. */
export function parseNotified(text: string | undefined): { ledger: NotifiedLedger; damaged: boolean } {
  const raw = parseJsonObject(text);
  if (!raw) return { ledger: {}, damaged: true };
  const ledger: NotifiedLedger = {};
  let damaged = false;
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'number' && Number.isFinite(value)) ledger[key] = value;
    else damaged = true;
  }
  return { ledger, damaged };
}

function isOutboxEntry(value: unknown): value is OutboxEntry {
  if (value === null || typeof value !== 'object') return false;
  const entry = value as Partial<OutboxEntry>;
  return (
    typeof entry.channel === 'string' &&
    typeof entry.channelNamespace === 'string' &&
    typeof entry.key === 'string' &&
    typeof entry.trigger === 'string' &&
    typeof entry.template === 'string' &&
    entry.body !== null &&
    typeof entry.body === 'object' &&
    typeof entry.attempts === 'number' &&
    typeof entry.next === 'number' &&
    typeof entry.decided === 'number'
  );
}

export function parseOutbox(text: string | undefined): { outbox: Outbox; damaged: boolean } {
  const raw = parseJsonObject(text);
  if (!raw) return { outbox: {}, damaged: true };
  const outbox: Outbox = {};
  let damaged = false;
  for (const [id, value] of Object.entries(raw)) {
    if (isOutboxEntry(value)) outbox[id] = value;
    else damaged = true;
  }
  return { outbox, damaged };
}

/** Keeps the newest `limit` entries (oldest evicted), in a stable order. */
export function evictOldest(ledger: NotifiedLedger, limit = LEDGER_LIMIT): NotifiedLedger {
  const entries = Object.entries(ledger);
  if (entries.length <= limit) return ledger;
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, limit));
}

export function serialiseNotified(ledger: NotifiedLedger): string | null {
  const kept = evictOldest(ledger);
  return Object.keys(kept).length === 0 ? null : JSON.stringify(kept);
}

export function serialiseOutbox(outbox: Outbox): string | null {
  return Object.keys(outbox).length === 0 ? null : JSON.stringify(outbox);
}

/** When herald last decided to notify `trigger` for this app: ledger or outbox, unix seconds. */
export function lastNotified(ledger: NotifiedLedger, outbox: Outbox, trigger: string): number | undefined {
  let latest: number | undefined;
  for (const [key, at] of Object.entries(ledger)) {
    if (parseLedgerKey(key)?.trigger === trigger && (latest === undefined || at > latest)) latest = at;
  }
  for (const entry of Object.values(outbox)) {
    const at = Math.floor(entry.decided / 1000);
    if (entry.trigger === trigger && (latest === undefined || at > latest)) latest = at;
  }
  return latest;
}
