// A channel's rate window as a value (pure: no I/O, the clock is a parameter).
//
// DingTalk accepts 20 messages per robot in any rolling minute and mutes a robot that
// sends more (errcode 130101) for 10 minutes. The window therefore has to survive a
// restart and a change of leader: the dispatcher keeps it here and writes it, at most
// every few seconds, to the channel's `status.sendWindow`; a new process rebuilds it
// from that record. Two rules make the record safe to rebuild from:
//
// - At most MAX_UNRECORDED sends are ever missing from the stored record. Before more
//   would go out (a burst), the dispatcher writes a claim first: the sends made so far
//   and `claim.slots` more that may be made until `claim.until`.
// - A record that was not written by a writer that stopped sending (`complete: false`)
//   is read conservatively: claimed slots count as sends at the claim's end, and
//   MAX_UNRECORDED sends the record may miss count as sends right now.
// - A rebuilt window sends nothing before it has written its own record (a claim), so
//   a process that dies right after starting never leaves a record that misses sends.
//
// A send is counted from when DingTalk answered (between our request and its answer
// DingTalk counted it), and held for WINDOW_MS, a little more than DingTalk's minute.
import type { DingTalkChannelStatus } from '../api/generated.js';
import { metaTime } from './conditions.js';

/** status.sendWindow as stored on the DingTalkChannel (crds/ is the source of its shape). */
export type SendWindowRecord = NonNullable<DingTalkChannelStatus['sendWindow']>;

export interface WindowState {
  /** When each send of the window was counted (ms, ascending). */
  sends: number[];
  /** Sends the stored record may make without another write. */
  claim: { slots: number; until: number } | undefined;
  /** Sends made since the last successful write that no claim covers. */
  unrecorded: number;
  mutedUntil: number | undefined;
  lastSent: number | undefined;
}

/** How long a send occupies its slot (DingTalk: 60 s from when it received the message). */
export const WINDOW_MS = 61_000;
/** Sends that may go out before the record says so (the fifth of a burst needs a claim first). */
export const MAX_UNRECORDED = 4;
/** How long a claim is good for. */
export const CLAIM_MS = 15_000;
/** A burst claims at most this many sends (DingTalk's whole minute) unless the lane's recent rate asks for more. */
export const CLAIM_MAX_SLOTS = 20;

const SECOND = 1000;

export const emptyWindow = (): WindowState => ({ sends: [], claim: undefined, unrecorded: 0, mutedUntil: undefined, lastSent: undefined });

const parseTime = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
};

const sorted = (list: number[]): number[] => [...list].sort((a, b) => a - b);

/** Drops sends that left the window, an exhausted or expired claim, and a mute that ended. */
export function expire(state: WindowState, now: number): WindowState {
  const sends = state.sends.filter((at) => at > now - WINDOW_MS);
  const claim = state.claim && state.claim.slots > 0 && state.claim.until > now ? state.claim : undefined;
  const mutedUntil = state.mutedUntil !== undefined && state.mutedUntil > now ? state.mutedUntil : undefined;
  if (sends.length === state.sends.length && claim === state.claim && mutedUntil === state.mutedUntil) return state;
  return { ...state, sends, claim, mutedUntil };
}

/**
 * The window a new process (or a new leader) starts with, from the stored record.
 * Missing record: if the channel's status says DingTalk accepted a message within the
 * last minute, the whole window counts as used from then (the writer of that status
 * may have sent `perMinute` messages since), otherwise the window is empty.
 */
export function rebuildWindow(
  record: SendWindowRecord | undefined,
  options: { now: number; perMinute: number; lastSentTime?: string },
): WindowState {
  const { now, perMinute } = options;
  const sends: number[] = [];
  if (!record) {
    const last = parseTime(options.lastSentTime);
    // lastSentTime is written a few seconds after the send it records.
    if (last !== undefined && last > now - WINDOW_MS - 5 * SECOND) {
      const at = Math.min(now, last + 5 * SECOND);
      for (let i = 0; i < perMinute; i++) sends.push(at);
    }
    return expire({ ...emptyWindow(), sends, unrecorded: MAX_UNRECORDED, lastSent: last }, now);
  }
  for (const group of record.sends ?? []) {
    const at = parseTime(group.at);
    if (at === undefined || !(group.count > 0)) continue;
    // The group holds sends anywhere within its second: count them at its end.
    for (let i = 0; i < Math.min(group.count, 10_000); i++) sends.push(Math.min(now, at + SECOND));
  }
  const claimUntil = parseTime(record.claim?.until);
  if (record.claim && claimUntil !== undefined && record.claim.slots > 0) {
    // Each claimed slot may have been used at any time until the claim ended.
    for (let i = 0; i < Math.min(record.claim.slots, 10_000); i++) sends.push(Math.min(now, claimUntil));
  }
  if (record.complete !== true) {
    for (let i = 0; i < MAX_UNRECORDED; i++) sends.push(now);
  }
  return expire(
    { sends: sorted(sends), claim: undefined, unrecorded: MAX_UNRECORDED, mutedUntil: parseTime(record.mutedUntil), lastSent: parseTime(record.lastSentTime) },
    now,
  );
}

/** Free slots right now (never below 0; 0 while muted). */
export function freeSlots(state: WindowState, perMinute: number, now: number): number {
  const current = expire(state, now);
  if (current.mutedUntil !== undefined) return 0;
  return Math.max(0, perMinute - current.sends.length);
}

/** When the next slot frees (or the mute ends); `now` when one is free. */
export function nextFreeAt(state: WindowState, perMinute: number, now: number): number {
  const current = expire(state, now);
  if (current.mutedUntil !== undefined) return current.mutedUntil;
  const used = current.sends.length;
  if (used < perMinute) return now;
  return current.sends[used - perMinute]! + WINDOW_MS;
}

export function isMuted(state: WindowState, now: number): boolean {
  return expire(state, now).mutedUntil !== undefined;
}

/** Sends that may go out now without writing the record first. */
export function allowance(state: WindowState, now: number): number {
  const current = expire(state, now);
  return (current.claim?.slots ?? 0) + Math.max(0, MAX_UNRECORDED - current.unrecorded);
}

/** Whether `planned` sends need a claim written first. */
export function needsClaim(state: WindowState, planned: number, now: number): boolean {
  return planned > allowance(state, now);
}

/**
 * Whether a lane that keeps sending should write its next claim now, while nothing waits:
 * it may send at most one more without a claim, it sent at least twice in the last
 * CLAIM_MS, and a slot is free. Its next message then finds the claim written instead of
 * waiting for the write (a claim written ahead is the same claim, only earlier).
 */
export function claimAhead(state: WindowState, perMinute: number, now: number): boolean {
  const current = expire(state, now);
  if (allowance(current, now) > 1 || freeSlots(current, perMinute, now) === 0) return false;
  return current.sends.filter((at) => at > now - CLAIM_MS).length >= 2;
}

/**
 * How many sends a claim for `planned` takes: the burst (at most CLAIM_MAX_SLOTS), or,
 * when more, as many as went out in the last CLAIM_MS plus one, so that a steady lane
 * writes about one claim per claim period instead of one per burst; never more than
 * are free (a process that dies leaves its claimed slots counted, never more than the
 * window allows). At least 1.
 */
export function claimSlots(state: WindowState, planned: number, perMinute: number, now: number): number {
  const current = expire(state, now);
  const recent = current.sends.filter((at) => at > now - CLAIM_MS).length;
  return Math.max(1, Math.min(freeSlots(current, perMinute, now), Math.max(Math.min(planned, CLAIM_MAX_SLOTS), recent + 1)));
}

/** The claim is being written: the record will hold every send so far and `slots` more until `now + CLAIM_MS`. */
export function claim(state: WindowState, slots: number, now: number): WindowState {
  return { ...expire(state, now), claim: slots > 0 ? { slots, until: now + CLAIM_MS } : undefined };
}

/** A request goes out now: its slot is taken from a claim, or it counts as unrecorded. */
export function recordSend(state: WindowState, now: number): WindowState {
  const current = expire(state, now);
  const sends = [...current.sends, now];
  if (current.claim) return { ...current, sends, claim: { ...current.claim, slots: current.claim.slots - 1 } };
  return { ...current, sends, unrecorded: current.unrecorded + 1 };
}

/** The last send's answer came: its slot counts from now. */
export function answered(state: WindowState, now: number, accepted: boolean): WindowState {
  const sends = [...state.sends];
  if (sends.length > 0) sends[sends.length - 1] = Math.max(sends[sends.length - 1]!, now);
  return { ...state, sends, lastSent: accepted ? now : state.lastSent };
}

/** DingTalk answered 130101: mute the channel until `until`. */
export function mute(state: WindowState, until: number): WindowState {
  return { ...state, mutedUntil: Math.max(state.mutedUntil ?? 0, until) };
}

/** A write of the record that counted `unrecorded` sends succeeded. */
export function recorded(state: WindowState, unrecorded: number): WindowState {
  return { ...state, unrecorded: Math.max(0, state.unrecorded - unrecorded) };
}

/** The record to store: sends grouped per second, the claim, the mute. */
export function toRecord(state: WindowState, now: number, complete: boolean): SendWindowRecord {
  const current = expire(state, now);
  const groups = new Map<number, number>();
  for (const at of current.sends) {
    const second = Math.floor(at / SECOND) * SECOND;
    groups.set(second, (groups.get(second) ?? 0) + 1);
  }
  const record: SendWindowRecord = {
    sends: [...groups.entries()].sort(([a], [b]) => a - b).map(([at, count]) => ({ at: metaTime(at), count })),
  };
  if (current.claim && !complete) record.claim = { slots: current.claim.slots, until: metaTime(Math.ceil(current.claim.until / SECOND) * SECOND) };
  if (current.mutedUntil !== undefined) record.mutedUntil = metaTime(Math.ceil(current.mutedUntil / SECOND) * SECOND);
  if (current.lastSent !== undefined) record.lastSentTime = metaTime(current.lastSent);
  record.complete = complete;
  record.updatedTime = metaTime(now);
  return record;
}
