// Holds one channel's rate window (send-window.ts) for its dispatcher. The record
// (`status.sendWindow`) is stored by the channel's one status writer
// (channel-status.ts), together with lastSentTime and lastError: coalesced while sends go
// out, at once for a claim or a mute, and with `complete: true` when the dispatcher has
// drained. Each write stores the window as it is when the write starts (`take`).
import * as window from './send-window.js';
import { MAX_UNRECORDED, type SendWindowRecord, type WindowState } from './send-window.js';

/** The keeper's side of one write: the record as of the write's start, and what became of it. */
export interface WindowSource {
  take(now: number): { record: SendWindowRecord; stored: (ok: boolean, error?: unknown) => void };
}

/** Where the record is stored (ChannelStatus.attach: the channel's coalesced status writer). */
export interface WindowStore {
  /** The window changed: store it with the channel's next coalesced status write. */
  changed(): void;
  /** Store it now (with whatever else of the status waits); false when it could not be stored. */
  flush(): Promise<boolean>;
  /** This keeper writes no more (drained, or leadership lost). */
  close(): void;
}

/** DingTalk mutes a robot this long after a 130101 (--dingtalk-mute-seconds). */
export const DINGTALK_MUTE_MS = 600_000;

/** A dispatcher's rate window: where it starts, where it is stored, how long DingTalk's 130101 mutes the channel. */
export interface WindowOptions {
  /** The window rebuilt from the stored record (default: empty, nothing stored). */
  initial?: WindowState;
  /** Connects the keeper to where status.sendWindow is stored; without it nothing is stored. */
  store?: (source: WindowSource) => WindowStore;
  /** Default DINGTALK_MUTE_MS. */
  muteMs?: number;
  /** The channel was muted until then. */
  muted?: (until: number) => void;
}

export class WindowKeeper implements WindowSource {
  private state: WindowState;
  private readonly store: WindowStore | undefined;
  private complete = false;
  private closed = false;

  constructor(
    initial: WindowState,
    connect: ((source: WindowSource) => WindowStore) | undefined,
    private readonly now: () => number,
    private readonly onWriteFailed: (error: unknown) => void = () => undefined,
  ) {
    this.state = initial;
    this.store = connect?.(this);
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
   * burst needs at least its next MAX_UNRECORDED + 1 sends covered.
   */
  needsClaim(planned: number): boolean {
    return window.needsClaim(this.state, Math.min(planned, MAX_UNRECORDED + 1), this.now());
  }

  /** Whether to write the next claim now, while the lane is idle (send-window.ts claimAhead); never once closed or without a store. */
  claimAhead(perMinute: number): boolean {
    return this.store !== undefined && !this.closed && window.claimAhead(this.state, perMinute, this.now());
  }

  /**
   * Writes a claim for `planned` sends, or for the lane's recent rate when that is more
   * (send-window.ts claimSlots), at most the free slots; false: it could not, and
   * nothing may go out yet.
   */
  async claim(planned: number, perMinute: number): Promise<boolean> {
    const now = this.now();
    this.state = window.claim(this.state, window.claimSlots(this.state, planned, perMinute, now), now);
    const ok = await this.write();
    if (!ok) this.state = { ...this.state, claim: undefined };
    return ok;
  }

  /** A request goes out now. */
  sent(): void {
    this.state = window.recordSend(this.state, this.now());
    if (!this.closed) this.store?.changed();
  }

  /** Its answer came (accepted: DingTalk took it). */
  answered(accepted: boolean): void {
    this.state = window.answered(this.state, this.now(), accepted);
    if (!this.closed) this.store?.changed();
  }

  /** DingTalk said 130101: nothing goes out until `until`; stored at once. */
  async mute(until: number): Promise<void> {
    this.state = window.mute(this.state, until);
    await this.write();
  }

  /** Stores the window now; `complete` once no more sends will be made by this keeper (it writes no more after that). */
  async flush(complete: boolean): Promise<boolean> {
    if (complete) this.complete = true;
    const ok = await this.write();
    if (complete) this.close();
    return ok;
  }

  /** Stop writing (leadership lost: another process owns the record now). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store?.close();
  }

  take(now: number): { record: SendWindowRecord; stored: (ok: boolean, error?: unknown) => void } {
    const unrecorded = this.state.unrecorded;
    const record = window.toRecord(this.state, now, this.complete);
    return {
      record,
      stored: (ok, error) => {
        // A failed write leaves the sends unrecorded: the next burst needs a claim, which needs a write.
        if (ok) this.state = window.recorded(this.state, unrecorded);
        else this.onWriteFailed(error);
      },
    };
  }

  private write(): Promise<boolean> {
    if (!this.store) {
      this.state = window.recorded(this.state, this.state.unrecorded);
      return Promise.resolve(true);
    }
    if (this.closed) return Promise.resolve(false);
    return this.store.flush();
  }
}
