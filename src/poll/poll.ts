import { IoError } from "../error.js";
import { sys } from "../native.js";
import type { Events } from "./event.js";
import { Registry } from "./registry.js";
import { Selector } from "./selector.js";
import { realClock, type Clock } from "./clock.js";

/** Options for {@link Poll}. */
export interface PollOptions {
  /**
   * The clock the poll and the stacks it drives run on. Default: the real
   * monotonic clock. With a {@link SimClock} the poll runs in virtual time and
   * never sleeps; kernel sources cannot be registered with it.
   */
  clock?: Clock;
}

/**
 * Waits for readiness of registered sources: kernel sockets through epoll
 * (edge-triggered) and virtual sources through the registry's readiness queue,
 * in one loop. Semantics are mio's on Linux.
 */
export class Poll {
  private readonly selector: Selector;
  private readonly reg: Registry;
  private watcher: unknown = null;
  private busy = false;

  constructor(options: PollOptions = {}) {
    const clock = options.clock ?? realClock;
    if (typeof clock?.now !== "function") throw new TypeError("clock must have a now() method");
    this.selector = new Selector(clock);
    this.reg = new Registry(this.selector);
  }

  /** The registry to register sources with. */
  registry(): Registry {
    return this.reg;
  }

  /**
   * Waits until at least one event is ready or `timeoutMs` passes, and fills
   * `events` (cleared first) with at most `events.capacity()` events.
   * `null` waits without limit; `0` never sleeps; fractions round up to 1 ms.
   * Blocks the thread: in Node, prefer {@link Poll.pollAsync} unless the
   * timeout is 0.
   */
  poll(events: Events, timeoutMs: number | null): void {
    const timeout = toTimeout(timeoutMs);
    this.enter();
    try {
      this.selector.select(events, timeout);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Like {@link Poll.poll}, but waits without blocking Node's event loop: the
   * epoll descriptor is watched by libuv, no thread and no busy loop.
   */
  async pollAsync(events: Events, timeoutMs: number | null): Promise<void> {
    const timeout = toTimeout(timeoutMs);
    this.enter();
    try {
      const selector = this.selector;
      // virtual time never waits: the clock jumps to the next deadline
      selector.select(events, selector.virtualTime ? timeout : 0);
      if (!events.isEmpty() || timeout === 0 || selector.virtualTime) return;
      const clock = selector.clock;
      const deadline = timeout < 0 ? Infinity : clock.now() + timeout;
      for (;;) {
        const now = clock.now();
        if (now >= deadline) return;
        await this.wait(Math.min(deadline, selector.nextDeadline()) - now);
        if (this.selector.closed) return events.clear();
        this.selector.select(events, 0);
        if (!events.isEmpty()) return;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Resolves when the epoll fd turns readable, virtual readiness arrives, or `ms` pass. */
  private wait(ms: number): Promise<void> {
    const selector = this.selector;
    if (this.watcher === null) {
      const w = sys.watchCreate(selector.epfd, () => selector.onSignal?.());
      if (typeof w === "number") throw IoError.fromErrno(-w, "uv_poll_init");
      this.watcher = w;
    }
    const watcher = this.watcher;
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        selector.onSignal = null;
        if (timer) clearTimeout(timer);
        if (!selector.closed) sys.watchStop(watcher);
        resolve();
      };
      selector.onSignal = done;
      if (ms !== Infinity) timer = setTimeout(done, Math.min(Math.ceil(ms), 0x7fffffff));
      sys.watchStart(watcher);
      if (selector.hasPending()) done();
    });
  }

  private enter(): void {
    if (this.selector.closed) throw new IoError("EBADF", "poll is closed");
    if (this.busy) throw new IoError("EBUSY", "a poll is already in progress on this Poll");
    this.busy = true;
  }

  /**
   * Closes the poll and its Waker. Registered sources stay open but are no
   * longer watched; a pending `pollAsync` returns with no events.
   */
  close(): void {
    if (this.selector.closed) return;
    const wake = this.selector.onSignal;
    if (this.watcher !== null) sys.watchClose(this.watcher);
    this.watcher = null;
    this.selector.close();
    wake?.();
  }
}

/** Milliseconds for epoll_wait: -1 for null, fractions rounded up. */
function toTimeout(ms: number | null): number {
  if (ms === null || ms === undefined || ms === Infinity) return -1;
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new TypeError(`timeout must be a non-negative number of ms or null, got ${String(ms)}`);
  }
  return Math.ceil(ms);
}
