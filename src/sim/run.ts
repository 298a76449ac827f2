/**
 * The loop behind `sim.run(fn)`: runs async code in virtual time. It lets
 * Node take turns (so promise chains, nextTicks and immediates of the code
 * settle), runs the network and the sim timers at the current virtual time,
 * and advances virtual time only when a couple of turns in a row brought no
 * progress. See {@link SimRunOptions} and `Sim.run` for the exact rules.
 * @internal
 */
import { IoError } from "../error.js";

/** Options of `sim.run`. */
export interface SimRunOptions {
  /**
   * Wall-clock budget of the whole run, in ms (default 60,000). Past it the
   * run rejects with an IoError `ETIME` (virtual time that never stops
   * moving, e.g. a timer that re-arms itself forever, ends here).
   */
  maxWallMs?: number;
  /**
   * How long, in wall-clock ms, the Sim waits while nothing at all can happen
   * in virtual time (no packet in flight, no stack or sim timer, no progress)
   * before rejecting with an IoError `EDEADLK` (default 500). Time for real
   * I/O the code may be waiting for (a file read).
   */
  deadlockMs?: number;
  /**
   * Turns of Node's event loop without progress before virtual time moves
   * (default 2, at least 1). More turns give longer chains of
   * `setImmediate` in the code a chance to run first.
   */
  idleTurns?: number;
}

/** What the loop drives: the Sim's network, clock and timers. */
export interface VirtualWorld {
  /**
   * Runs what is due at the current virtual time; returns how much
   * progressed: events and timers that ran the code's callbacks (`user`),
   * packets the network moved (`network`).
   */
  pump(): { user: number; network: number };
  /** The next virtual time something is due (a packet, a stack timer, a sim timer), or Infinity. */
  nextWakeup(): number;
  /** Moves virtual time forward to `t`. */
  advanceTo(t: number): void;
  now(): number;
}

/** Jumps of virtual time at most per turn of Node's loop while nothing progresses. */
const MAX_JUMPS_PER_TURN = 1000;
/** Turns without anything to do before the loop waits with timers instead of immediates. */
const SPIN_TURNS = 8;

function check(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new TypeError(`${name} must be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** One turn of Node's event loop: an immediate, or (when idle for long) a 1 ms timer. */
function turn(slow: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (slow) setTimeout(resolve, 1);
    else setImmediate(resolve);
  });
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs `fn` in the virtual time of `world` until its promise settles. */
export async function runInVirtualTime<T>(world: VirtualWorld, fn: () => T | PromiseLike<T>, options: SimRunOptions): Promise<T> {
  const maxWallMs = check("maxWallMs", options.maxWallMs, 60_000, 0);
  const deadlockMs = check("deadlockMs", options.deadlockMs, 500, 0);
  const idleTurns = Math.ceil(check("idleTurns", options.idleTurns, 2, 1));
  let outcome: Outcome<T> | null = null;
  try {
    Promise.resolve(fn()).then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
  } catch (error) {
    outcome = { ok: false, error };
  }
  const start = performance.now();
  let idle = 0;
  let stuckTurns = 0;
  let stuckSince = 0;
  for (;;) {
    await turn(stuckTurns > SPIN_TURNS);
    const done = outcome as Outcome<T> | null;
    if (done !== null) {
      if (done.ok) return done.value;
      throw done.error;
    }
    const wall = performance.now();
    if (wall - start > maxWallMs) {
      throw new IoError(
        "ETIME",
        `Sim.run gave up after ${maxWallMs} ms of wall time, at virtual time ${world.now()} ms: the function has not settled (raise maxWallMs, or look for something that keeps virtual time moving forever)`,
      );
    }
    const p = world.pump();
    if (p.user > 0 || p.network > 0) {
      idle = stuckTurns = 0;
      continue;
    }
    if (++idle < idleTurns) continue;
    // nothing runnable: move virtual time to the next thing due, again while that runs none of the
    // code's callbacks (packets on their way, stack timers): only those need Node to take a turn
    let moved = false;
    for (let i = 0; i < MAX_JUMPS_PER_TURN; i++) {
      const next = world.nextWakeup();
      if (next === Infinity) break;
      const before = world.now();
      world.advanceTo(next);
      const q = world.pump();
      if (q.user > 0 || q.network > 0 || world.now() > before) moved = true;
      if (q.user > 0 || !moved) break;
    }
    if (moved) {
      idle = stuckTurns = 0;
      continue;
    }
    if (stuckTurns++ === 0) stuckSince = wall;
    if (stuckTurns > SPIN_TURNS && wall - stuckSince >= deadlockMs) {
      throw new IoError(
        "EDEADLK",
        `Sim.run deadlock at virtual time ${world.now()} ms: the function has not settled and nothing can happen any more (no packet in flight, no stack timer, no sim timer, nothing progressed for ${Math.round(wall - stuckSince)} ms of wall time). Waiting for a Node timer or for real I/O? Inside sim.run use sim.sleep / sim.setTimeout`,
      );
    }
  }
}
