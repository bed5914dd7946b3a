// cel-js calls function handlers without a context of ours, and evaluation is
// synchronous: what the evaluation in progress needs (its scope, its cost meter) is
// held in a slot for the duration of one synchronous call.
export class Slot<T> {
  private value: T | undefined;

  /** The value of the call in progress, if any. */
  get current(): T | undefined {
    return this.value;
  }

  /** Runs `run` with `value` in the slot; the previous value comes back afterwards (nesting is fine). */
  during<R>(value: T, run: () => R): R {
    const previous = this.value;
    this.value = value;
    try {
      return run();
    } finally {
      this.value = previous;
    }
  }
}
