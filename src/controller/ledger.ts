// The two annotations herald keeps on each Application (DESIGN §3–4):
//   herald.gitops.dev/notified — send ledger: { "<oncePer>:<trigger>:<condition name>:<channel>": unixSeconds },
//     0 for a state recorded at first sight (never sent), plus one first-sight marker per
//     trigger and channel, ":<trigger>:*:<channel>": unixSeconds when herald first saw them.
//     Neither a marker nor a 0 entry is a send (sentAt() gives only real sends).
//   herald.gitops.dev/outbox   — messages decided but not yet accepted by their channel.
// Pure parsing, keys, migration and eviction; the reconciler does the patching.

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

/** `<oncePer>:<trigger>:<condition name>:<channel>`; the oncePer part is empty for a condition without oncePer. */
export function ledgerKey(oncePer: string | undefined, trigger: string, condition: string, channel: string): string {
  return `${oncePer ?? ''}:${trigger}:${condition}:${channel}`;
}

/** The condition part of a first-sight marker (a condition name is a DNS label, never `*`). */
export const FIRST_SIGHT_CONDITION = '*';

/**
 * `:<trigger>:*:<channel>`: unix seconds when herald first evaluated `trigger` for this
 * app and `channel`. Without it, what holds is recorded instead of sent (first sight).
 */
export function firstSightKey(trigger: string, channel: string): string {
  return ledgerKey(undefined, trigger, FIRST_SIGHT_CONDITION, channel);
}

export function isFirstSightKey(key: string): boolean {
  return parseLedgerKey(key)?.condition === FIRST_SIGHT_CONDITION;
}

/**
 * The value of a ledger entry recorded at first sight: the state held before herald first
 * saw the app with that trigger and channel, and was never sent (when: see the marker).
 */
export const RECORDED_AT_FIRST_SIGHT = 0;

/**
 * Unix seconds of the sends the ledger remembers for `channel` (all channels when
 * omitted): neither first-sight markers nor entries recorded at first sight, which were
 * never sent. For anything that counts sends (rate windows, metrics, status).
 */
export function sentAt(ledger: NotifiedLedger, channel?: string): number[] {
  const times: number[] = [];
  for (const [key, at] of Object.entries(ledger)) {
    if (at === RECORDED_AT_FIRST_SIGHT) continue;
    const parsed = parseLedgerKey(key);
    if (!parsed || parsed.condition === FIRST_SIGHT_CONDITION) continue;
    if (channel === undefined || parsed.channel === channel) times.push(at);
  }
  return times;
}

/** Ledger keys written before conditions had names: `<index>.<first 8 hex of sha256(when)>`. */
const LEGACY_CONDITION = /^(\d+)\.[0-9a-f]{8}$/;

/**
 * A key in today's form: a legacy `<index>.<hash>` condition part becomes the name of
 * the condition at that index (the hash of an old text is ignored, by design: the text
 * may have been edited since). Keys of unknown triggers or indexes stay as they are.
 */
export function migrateLedgerKey(key: string, conditionNames: (trigger: string) => readonly string[] | undefined): string {
  const parsed = parseLedgerKey(key);
  const legacy = parsed && LEGACY_CONDITION.exec(parsed.condition);
  if (!parsed || !legacy) return key;
  const name = conditionNames(parsed.trigger)?.[Number(legacy[1])];
  return name === undefined ? key : ledgerKey(parsed.oncePer, parsed.trigger, name, parsed.channel);
}

/** The ledger with legacy keys mapped (migrateLedgerKey); two keys that meet keep the later time. */
export function migrateLedger(ledger: NotifiedLedger, conditionNames: (trigger: string) => readonly string[] | undefined): NotifiedLedger {
  let out: NotifiedLedger | undefined;
  for (const [key, at] of Object.entries(ledger)) {
    const migrated = migrateLedgerKey(key, conditionNames);
    if (migrated === key) continue;
    out ??= { ...ledger };
    delete out[key];
    out[migrated] = Math.max(at, out[migrated] ?? at);
  }
  return out ?? ledger;
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

/** The object's values that pass `valid`; text that is no JSON object, or any other value, is `damaged` (never an exception). */
function parseRecord<T>(text: string | undefined, valid: (value: unknown) => value is T): { values: Record<string, T>; damaged: boolean } {
  const raw = parseJsonObject(text);
  if (!raw) return { values: {}, damaged: true };
  const values: Record<string, T> = {};
  let damaged = false;
  for (const [key, value] of Object.entries(raw)) {
    if (valid(value)) values[key] = value;
    else damaged = true;
  }
  return { values, damaged };
}

const isTimestamp = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** A damaged annotation yields an empty ledger and `damaged: true`, never an exception. */
export function parseNotified(text: string | undefined): { ledger: NotifiedLedger; damaged: boolean } {
  const { values, damaged } = parseRecord(text, isTimestamp);
  return { ledger: values, damaged };
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
  const { values, damaged } = parseRecord(text, isOutboxEntry);
  return { outbox: values, damaged };
}

/**
 * Keeps the newest `limit` entries (oldest evicted), in a stable order. First-sight
 * markers go last: they are the oldest entries, and losing one would make herald treat
 * the app as unseen again.
 */
export function evictOldest(ledger: NotifiedLedger, limit = LEDGER_LIMIT): NotifiedLedger {
  const entries = Object.entries(ledger);
  if (entries.length <= limit) return ledger;
  const marker = (key: string) => (isFirstSightKey(key) ? 1 : 0);
  entries.sort((a, b) => marker(b[0]) - marker(a[0]) || b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, limit));
}

export function serialiseNotified(ledger: NotifiedLedger): string | null {
  const kept = evictOldest(ledger);
  return Object.keys(kept).length === 0 ? null : JSON.stringify(kept);
}

export function serialiseOutbox(outbox: Outbox): string | null {
  return Object.keys(outbox).length === 0 ? null : JSON.stringify(outbox);
}

/**
 * When herald last decided to notify `trigger` for this app: ledger or outbox, unix
 * seconds. Neither first-sight markers nor states recorded at first sight (never sent)
 * are notifications: `notified('on-health-degraded')` stays 0 for a degradation herald
 * only recorded, so on-health-recovered does not announce a recovery from it.
 */
export function lastNotified(ledger: NotifiedLedger, outbox: Outbox, trigger: string): number | undefined {
  let latest: number | undefined;
  for (const [key, at] of Object.entries(ledger)) {
    const parsed = parseLedgerKey(key);
    if (at === RECORDED_AT_FIRST_SIGHT) continue;
    if (parsed?.trigger === trigger && parsed.condition !== FIRST_SIGHT_CONDITION && (latest === undefined || at > latest)) latest = at;
  }
  for (const entry of Object.values(outbox)) {
    const at = Math.floor(entry.decided / 1000);
    if (entry.trigger === trigger && (latest === undefined || at > latest)) latest = at;
  }
  return latest;
}
