/**
 * Timers in virtual time: `sim.setTimeout` / `sim.sleep` callbacks, kept in
 * due order (ties in the order they were set) and fired by the run loop.
 * @internal
 */

/** A pending `sim.setTimeout`; `cancel()` (or `sim.clearTimeout`) stops it. */
export class SimTimeout {
  /** @internal */
  cancelled = false;

  /** @internal */
  constructor(
    /** The virtual time (ms) it fires at. */
    readonly at: number,
    /** @internal */
    readonly callback: () => void,
  ) {}

  /** Stops the timer if it has not fired yet (idempotent). */
  cancel(): void {
    this.cancelled = true;
  }
}

export class TimerQueue {
  private readonly queue: SimTimeout[] = [];

  /** Schedules `callback` at virtual time `at`. */
  add(at: number, callback: () => void): SimTimeout {
    const t = new SimTimeout(at, callback);
    // binary search for the first timer due later (equal times keep insertion order)
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, t);
    return t;
  }

  /** When the next live timer is due, or Infinity. */
  next(): number {
    const q = this.queue;
    while (q.length > 0 && q[0]!.cancelled) q.shift();
    return q.length > 0 ? q[0]!.at : Infinity;
  }

  /**
   * Fires every timer due at or before `now`, in order, including those the
   * callbacks set for `now`. Returns how many fired. A callback that throws
   * stops the round: the error propagates (later timers stay queued).
   */
  fireDue(now: number): number {
    let n = 0;
    while (this.next() <= now) {
      const t = this.queue.shift()!;
      t.cancelled = true;
      n++;
      t.callback();
    }
    return n;
  }
}
