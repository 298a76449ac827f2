/**
 * Clocks: the time a Poll and the stacks it drives run on, in milliseconds.
 * The real clock is monotonic wall time; a {@link SimClock} is virtual time
 * that only moves when told to, which a Poll does by jumping to the next
 * deadline when nothing is ready.
 */

/** Monotonic time in milliseconds. */
export interface Clock {
  now(): number;
}

/** The machine's monotonic clock (`performance.now()`). */
export const realClock: Clock = {
  now: () => performance.now(),
};

/**
 * Virtual time for simulations. A Poll built with a SimClock never sleeps:
 * when nothing is ready it advances the clock to the next deadline (its
 * timeout, or the earliest timer of a stack it drives).
 */
export class SimClock implements Clock {
  private t: number;

  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs) || startMs < 0) throw new TypeError(`start time must be a finite number >= 0, got ${startMs}`);
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  /** Moves time forward by `ms` (>= 0). */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new TypeError(`cannot advance by ${ms} ms`);
    this.t += ms;
  }

  /** Moves time forward to `t`; a time in the past leaves it where it is. */
  advanceTo(t: number): void {
    if (!Number.isFinite(t)) throw new TypeError(`cannot advance to ${t}`);
    if (t > this.t) this.t = t;
  }
}
