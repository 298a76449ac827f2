/**
 * The bridge between a {@link Poll} and Node's event loop, for the Node
 * adapters: callbacks registered per source, run when the Poll reports it.
 * A real-time Poll is polled by a loop of `pollAsync` that runs while any
 * source is watched (like a libuv handle, it keeps the process alive unless
 * unreferenced); a Poll on a SimClock is stepped by whoever owns virtual
 * time (a {@link Sim}), through {@link PollDriver.step}.
 */
import { IoError } from "../error.js";
import type { Event } from "../poll/event.js";
import { Events } from "../poll/event.js";
import type { Interest } from "../poll/interest.js";
import type { Poll } from "../poll/poll.js";
import { selectorOf } from "../poll/registry.js";
import type { Source } from "../poll/source.js";
import { Token } from "../poll/token.js";
import { Waker } from "../poll/waker.js";

/** The driver's Waker token: {@link PollDriver.watch} hands out 1 and up. */
const WAKE = Token(0);
/** Without a Waker of its own (the Poll has one already), the loop looks again this often. */
const RECHECK_MS = 250;

interface Watch {
  source: Source;
  onEvent: (event: Event) => void;
  /** whether this watch keeps a real-time loop running */
  ref: boolean;
}

const drivers = new WeakMap<Poll, PollDriver>();

export class PollDriver {
  private readonly watches = new Map<number, Watch>();
  private readonly events = new Events(1024);
  private nextToken = 1;
  private looping = false;
  private waker: Waker | null | undefined = undefined;
  /** events dispatched since the last {@link takeActivity} */
  private activity = 0;
  /** virtual-time timers ({@link atTime}), earliest first */
  private readonly timers: Array<{ at: number; fn: () => void }> = [];

  private constructor(readonly poll: Poll) {}

  /** The driver of `poll` (one per Poll). */
  static for(poll: Poll): PollDriver {
    let d = drivers.get(poll);
    if (d === undefined) drivers.set(poll, (d = new PollDriver(poll)));
    return d;
  }

  /** Whether the Poll runs on virtual time (then {@link step} drives it, never a loop of its own). */
  get virtualTime(): boolean {
    return selectorOf(this.poll.registry()).virtualTime;
  }

  /** Registers `source` with the Poll; `onEvent` runs for each of its events. Returns its token. */
  watch(source: Source, interest: Interest, onEvent: (event: Event) => void): Token {
    const token = Token(this.nextToken++);
    this.poll.registry().register(source, token, interest);
    this.watches.set(token, { source, onEvent, ref: true });
    this.kick();
    return token;
  }

  /** Deregisters the source of `token` (already closed sources are simply forgotten). */
  unwatch(token: Token): void {
    const w = this.watches.get(token);
    if (w === undefined) return;
    this.watches.delete(token);
    try {
      this.poll.registry().deregister(w.source);
    } catch {
      // closed: it left the Poll with its close
    }
    // the loop may be waiting for nothing now: let it see
    if (this.looping && !this.referenced()) this.waker?.wake();
  }

  /** Whether the watch of `token` keeps a real-time loop (and so the process) alive. */
  setRef(token: Token, ref: boolean): void {
    const w = this.watches.get(token);
    if (w !== undefined) w.ref = ref;
    if (ref) this.kick();
    else if (this.looping && !this.referenced()) this.waker?.wake();
  }

  /**
   * Polls once (waiting at most `timeoutMs`; on a SimClock, virtual time
   * jumps instead) and runs the callbacks of what it reports. Returns how
   * many events there were.
   */
  step(timeoutMs = 0): number {
    const events = this.events;
    const next = this.timers[0];
    const wait = next === undefined ? timeoutMs : Math.min(timeoutMs, Math.max(0, next.at - this.now()));
    this.poll.poll(events, wait);
    const n = this.dispatch(events);
    return n + this.runTimers();
  }

  /**
   * Virtual time only: runs `fn` once, in the first {@link step} that finds
   * the Poll's clock at or past `at` (ms); a step waits no longer than the
   * earliest such time, so on a SimClock time jumps to it when nothing else
   * is ready. A fired timer counts as activity. Returns a function that
   * cancels it. (Real-time Polls use Node's timers instead.)
   */
  atTime(at: number, fn: () => void): () => void {
    if (!this.virtualTime) throw new TypeError("atTime is for Polls on virtual time (a SimClock)");
    const t = { at, fn };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > at) i--;
    this.timers.splice(i, 0, t);
    return () => {
      const k = this.timers.indexOf(t);
      if (k >= 0) this.timers.splice(k, 1);
    };
  }

  /** The Poll's clock (ms). */
  now(): number {
    return selectorOf(this.poll.registry()).clock.now();
  }

  /** Runs the timers that are due; returns how many ran. */
  private runTimers(): number {
    let n = 0;
    const now = this.now();
    while (this.timers.length > 0 && this.timers[0]!.at <= now) {
      this.timers.shift()!.fn();
      n++;
    }
    this.activity += n;
    return n;
  }

  /** How many events were dispatched since the last call (the Sim's measure of progress). */
  takeActivity(): number {
    const n = this.activity;
    this.activity = 0;
    return n;
  }

  private dispatch(events: Events): number {
    let n = 0;
    for (const e of events) {
      n++;
      this.watches.get(e.token())?.onEvent(e);
    }
    this.activity += n;
    return n;
  }

  private referenced(): boolean {
    for (const w of this.watches.values()) if (w.ref) return true;
    return false;
  }

  /** Starts the real-time loop if it is not running and something keeps it alive. */
  private kick(): void {
    if (this.looping || this.virtualTime || !this.referenced()) return;
    this.looping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    if (this.waker === undefined) {
      try {
        this.waker = new Waker(this.poll.registry(), WAKE);
      } catch {
        this.waker = null;
      }
    }
    const events = new Events(1024);
    try {
      while (this.referenced()) {
        try {
          await this.poll.pollAsync(events, this.waker === null ? RECHECK_MS : null);
        } catch (e) {
          // the Poll was closed under its watches: nothing more will come
          if (e instanceof IoError && e.code === "EBADF") return;
          throw e;
        }
        try {
          this.dispatch(events);
        } catch (e) {
          // a callback threw (a user's listener, as in a libuv callback): it
          // is an uncaught exception, and the loop goes on for the others
          process.nextTick(() => {
            throw e;
          });
        }
      }
    } finally {
      this.looping = false;
    }
  }
}
