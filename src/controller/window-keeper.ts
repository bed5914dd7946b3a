// Holds one channel's rate window (send-window.ts) for its dispatcher and keeps the
// stored record (`status.sendWindow`) up to date: written at most every WRITE_EVERY_MS
// while sends go out (coalesced), at once for a claim or a mute, and with
// `complete: true` when the dispatcher has drained. Writes never overlap: each one
// stores the window as it is when the write starts.
import * as window from './send-window.js';
import { MAX_UNRECORDED, type SendWindowRecord, type WindowState } from './send-window.js';

/** Stores the record; rejects when it could not. */
export type WindowWriter = (record: SendWindowRecord) => Promise<void>;

export const WRITE_EVERY_MS = 2000;
/** At most this many sends per claim (DingTalk's whole minute): a process that dies leaves at most that many counted but unsent. */
export const CLAIM_MAX_SLOTS = 20;

/** DingTalk mutes a robot this long after a 130101 (--dingtalk-mute-seconds). */
export const DINGTALK_MUTE_MS = 600_000;

/** A dispatcher's rate window: where it starts, where it is stored, how long DingTalk's 130101 mutes the channel. */
export interface WindowOptions {
  /** The window rebuilt from the stored record (default: empty, nothing stored). */
  initial?: WindowState;
  /** Stores status.sendWindow; without it nothing is stored. */
  write?: WindowWriter;
  /** Default DINGTALK_MUTE_MS. */
  muteMs?: number;
  /** The channel was muted until then. */
  muted?: (until: number) => void;
}

export class WindowKeeper {
  private state: WindowState;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<boolean> = Promise.resolve(true);
  private closed = false;

  constructor(
    initial: WindowState,
    private readonly writer: WindowWriter | undefined,
    private readonly now: () => number,
    private readonly onWriteFailed: (error: unknown) => void = () => undefined,
  ) {
    this.state = initial;
  }

  get current(): WindowState {
    return this.state;
  }

  free(perMinute: number): number {
    return window.freeSlots(this.state, perMinute, this.now());
  }

  nextFreeAt(perMinute: number): number {
    return window.nextFreeAt(this.state, perMinute, this.now());
  }

  /** When the mute ends, while muted. */
  mutedUntil(): number | undefined {
    return window.expire(this.state, this.now()).mutedUntil;
  }

  /**
   * Whether `planned` sends need a claim written before the first of them goes out: a
   * burst needs at least its next MAX_UNRECORDED + 1 sends covered (a claim covers at
   * most CLAIM_MAX_SLOTS, so a long burst writes a claim about every 20 sends).
   */
  needsClaim(planned: number): boolean {
    return window.needsClaim(this.state, Math.min(planned, MAX_UNRECORDED + 1), this.now());
  }

  /** Writes a claim for `planned` sends (at most the free slots); false: it could not, and nothing may go out yet. */
  async claim(planned: number, perMinute: number): Promise<boolean> {
    const now = this.now();
    const slots = Math.max(1, Math.min(planned, window.freeSlots(this.state, perMinute, now), CLAIM_MAX_SLOTS));
    this.state = window.claim(this.state, slots, now);
    const ok = await this.write(false);
    if (!ok) this.state = { ...this.state, claim: undefined };
    return ok;
  }

  /** A request goes out now. */
  sent(): void {
    this.state = window.recordSend(this.state, this.now());
    this.soon();
  }

  /** Its answer came (accepted: DingTalk took it). */
  answered(accepted: boolean): void {
    this.state = window.answered(this.state, this.now(), accepted);
    this.soon();
  }

  /** DingTalk said 130101: nothing goes out until `until`; stored at once. */
  async mute(until: number): Promise<void> {
    this.state = window.mute(this.state, until);
    await this.write(false);
  }

  /** Stores the window now; `complete` once no more sends will be made by this keeper. */
  async flush(complete: boolean): Promise<boolean> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (complete) this.closed = true;
    return this.write(complete);
  }

  /** Stop writing (leadership lost: another process owns the record now). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private soon(): void {
    if (this.timer || this.closed || !this.writer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) void this.write(false);
    }, WRITE_EVERY_MS);
    this.timer.unref?.();
  }

  private write(complete: boolean): Promise<boolean> {
    const writer = this.writer;
    if (!writer) {
      this.state = window.recorded(this.state, this.state.unrecorded);
      return Promise.resolve(true);
    }
    this.chain = this.chain.then(async () => {
      const unrecorded = this.state.unrecorded;
      try {
        await writer(window.toRecord(this.state, this.now(), complete));
        this.state = window.recorded(this.state, unrecorded);
        return true;
      } catch (error) {
        this.onWriteFailed(error);
        // Sends stay unrecorded: the next one needs a claim, which needs a write.
        if (!complete) this.soon();
        return false;
      }
    });
    return this.chain;
  }
}
