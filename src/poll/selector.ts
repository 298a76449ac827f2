/**
 * The selector behind a Poll: an epoll instance for kernel descriptors plus a
 * readiness queue for virtual (in-process) sources, merged in {@link Selector.select}.
 * @internal
 */
import { sys, C } from "../native.js";
import { IoError, check } from "../error.js";
import { closeFd, ownFd } from "../fd.js";
import type { Events } from "./event.js";
import type { Interest } from "./interest.js";
import { SimClock, type Clock } from "./clock.js";

const ENOENT = -sys.errno.ENOENT!;
const EEXIST = -sys.errno.EEXIST!;
const ALWAYS = C.EPOLLERR | C.EPOLLHUP;
const MAX_TIMEOUT = 0x7fffffff;
const MAX_DRIVER_ROUNDS = 64;
/**
 * Tokens from 2^53 up are the selector's own (a user's Token is a safe
 * integer, below it): they mark the descriptors of drivers. Doubles between
 * 2^53 and 2^54 are the even integers, so internal tokens step by 2.
 */
const INTERNAL_TOKEN = 2 ** 53;

/**
 * The registration of a virtual source, with epoll's semantics: the source
 * reports wake-ups with {@link ready}; a wake-up that meets the interest
 * queues the registration once; when the poll delivers it, the event carries
 * the source's readiness at that moment (and nothing, if it has none left).
 */
export class VirtualRegistration {
  /** whether it waits in the readiness queue */
  queued = false;
  /** false once deregistered */
  active = true;
  /** the poll call (selector serial) that last delivered it, and in which slot of its events */
  deliveredIn = -1;
  slot = 0;
  /** the interest's epoll bits, plus errors and hang-ups (always reported) */
  mask: number;

  constructor(
    readonly selector: Selector,
    public token: number,
    interest: Interest,
    /** the source's current readiness as epoll bits */
    readonly readiness: () => number,
  ) {
    this.mask = interest.epollEvents | ALWAYS;
  }

  /**
   * Reports a wake-up with the epoll bits that caused it (EPOLLIN, EPOLLOUT,
   * EPOLLRDHUP, EPOLLPRI, EPOLLERR, EPOLLHUP). Bits outside the interest do
   * not queue an event, as with epoll.
   */
  ready(bits: number): void {
    if (this.active && (bits & this.mask) !== 0) this.selector.signal(this);
  }
}

/**
 * Something a Poll drives inside every poll: a userspace stack. `poll(now)`
 * moves packets and runs due timers; `pollAt()` says when it next needs to run.
 */
export interface Driver {
  poll(now: number): void;
  pollAt(): number | null;
}

/** A driver's descriptor watched in the epoll set (fd -1 once no longer watched). */
interface DriverFd {
  readonly driver: Driver;
  fd: number;
  readonly token: number;
}

export class Selector {
  /** the epoll instance; -1 in virtual time, which watches no kernel descriptor */
  readonly epfd: number;
  /** true when time is virtual (a SimClock): the selector never sleeps */
  readonly virtualTime: boolean;
  private readonly sim: SimClock | null;
  private readonly drivers: Driver[] = [];
  private readonly driverFds: DriverFd[] = [];
  private nextInternalToken = INTERNAL_TOKEN;
  closed = false;
  /** whether a Waker was made for this selector */
  waker: { close(): void } | null = null;
  /** called when virtual readiness arrives (wakes a pending pollAsync) */
  onSignal: (() => void) | null = null;
  private queue: VirtualRegistration[] = [];
  /** counts poll calls, to tell what one call already delivered */
  private serial = 0;
  private head = 0;

  constructor(readonly clock: Clock) {
    this.sim = clock instanceof SimClock ? clock : null;
    this.virtualTime = this.sim !== null;
    this.epfd = this.virtualTime ? -1 : check(sys.epollCreate(), "epoll_create1");
    if (this.epfd >= 0) ownFd(this, this.epfd);
  }

  private live(): void {
    if (this.closed) throw new IoError("EBADF", "poll is closed");
  }

  registerFd(fd: number, token: number, interest: Interest): void {
    if (this.virtualTime) {
      throw new IoError("EINVAL", "a Poll on a SimClock cannot watch kernel sources: they live in real time");
    }
    this.ctl(C.EPOLL_CTL_ADD, fd, interest.epollEvents, token);
  }

  reregisterFd(fd: number, token: number, interest: Interest): void {
    this.ctl(C.EPOLL_CTL_MOD, fd, interest.epollEvents, token);
  }

  deregisterFd(fd: number): void {
    this.ctl(C.EPOLL_CTL_DEL, fd, 0, 0);
  }

  private ctl(op: number, fd: number, events: number, token: number): void {
    this.live();
    const r = sys.epollCtl(this.epfd, op, fd, events, token);
    if (r === EEXIST) throw new IoError("EEXIST", "already registered");
    if (r === ENOENT) throw new IoError("ENOENT", "not registered");
    check(r, "epoll_ctl");
  }

  registerVirtual(token: number, interest: Interest, readiness: () => number): VirtualRegistration {
    this.live();
    return new VirtualRegistration(this, token, interest, readiness);
  }

  reregisterVirtual(reg: VirtualRegistration, token: number, interest: Interest): void {
    this.live();
    reg.token = token;
    reg.mask = interest.epollEvents | ALWAYS;
  }

  deregisterVirtual(reg: VirtualRegistration): void {
    reg.active = false;
  }

  /** @see VirtualRegistration.ready */
  signal(reg: VirtualRegistration): void {
    if (reg.queued || this.closed) return;
    reg.queued = true;
    this.queue.push(reg);
    this.onSignal?.();
  }

  /**
   * Wakes a `pollAsync` that is waiting, so that it runs the drivers and
   * looks at their deadlines again: a driver's work changed outside a poll
   * (a virtual socket sent a packet through a timed device). A no-op
   * otherwise.
   */
  wake(): void {
    this.onSignal?.();
  }

  /** Drives `d` inside every poll from now on. */
  drive(d: Driver): void {
    this.live();
    if (!this.drivers.includes(d)) this.drivers.push(d);
  }

  /**
   * Drives `d` inside every poll, like {@link Selector.drive}, and wakes a
   * waiting poll when `fd` (a kernel device: a TUN descriptor) turns
   * readable. The descriptor is watched level-triggered under an internal
   * token that never reaches the user's events; when it fires, the poll runs
   * the drivers and delivers the virtual readiness they cause in the same
   * call. The driver reads `fd` when polled; whatever it leaves unread wakes
   * the next poll at once.
   */
  driveFd(fd: number, d: Driver): void {
    if (this.virtualTime) {
      throw new IoError("EINVAL", "a Poll on a SimClock cannot drive a kernel device: it lives in real time");
    }
    this.live();
    if (this.driverFds.some((e) => e.driver === d)) throw new IoError("EEXIST", "already registered");
    const token = this.nextInternalToken;
    check(sys.epollCtl(this.epfd, C.EPOLL_CTL_ADD, fd, C.EPOLLIN, token), "epoll_ctl");
    this.nextInternalToken += 2;
    this.driverFds.push({ driver: d, fd, token });
    this.drive(d);
  }

  /**
   * Stops driving `d`. If it was driven with a descriptor, `openFd` says
   * whether that descriptor is still open (the same number): then its watch
   * is removed; a closed descriptor has already left the epoll set, and its
   * number may belong to someone else by now.
   */
  undrive(d: Driver, openFd?: number): void {
    const i = this.drivers.indexOf(d);
    if (i >= 0) this.drivers.splice(i, 1);
    const j = this.driverFds.findIndex((e) => e.driver === d);
    if (j < 0) return;
    const entry = this.driverFds[j]!;
    this.driverFds.splice(j, 1);
    if (!this.closed && entry.fd >= 0 && entry.fd === openFd) {
      sys.epollCtl(this.epfd, C.EPOLL_CTL_DEL, entry.fd, 0, 0);
    }
  }

  /**
   * Runs every driver at the current time, again while one of them is still
   * due (a packet one stack sent to another without delay), so that a poll
   * sees everything that happens at this instant. Bounded, in case a driver
   * keeps reporting a past deadline.
   */
  private runDrivers(): void {
    const ds = this.drivers;
    if (ds.length === 0) return;
    for (let round = 0; round < MAX_DRIVER_ROUNDS; round++) {
      const now = this.clock.now();
      for (let i = 0; i < ds.length; i++) ds[i]!.poll(now);
      if (this.nextDeadline() > now) return;
    }
  }

  /** The earliest time a driver needs to run, or Infinity. */
  nextDeadline(): number {
    let next = Infinity;
    const ds = this.drivers;
    for (let i = 0; i < ds.length; i++) {
      const t = ds[i]!.pollAt();
      if (t !== null && t < next) next = t;
    }
    return next;
  }

  /** Whether virtual readiness is waiting to be delivered. */
  hasPending(): boolean {
    return this.head < this.queue.length;
  }

  /**
   * Fills `events`: queued virtual readiness first, then kernel events.
   * Drivers run first and again whenever one of their deadlines passes.
   * `timeoutMs`: -1 waits without limit. With real time the wait is
   * epoll_wait, cut short at the next driver deadline; with virtual time the
   * clock jumps to the next deadline instead of sleeping.
   */
  select(events: Events, timeoutMs: number): void {
    this.live();
    events.clear();
    this.serial++;
    const clock = this.clock;
    const end = timeoutMs < 0 ? Infinity : clock.now() + timeoutMs;
    for (;;) {
      this.runDrivers();
      this.drainVirtual(events);
      const now = clock.now();
      const wakeAt = Math.min(end, this.nextDeadline());
      if (events.len > 0 || now >= end || events.len === events.capacity()) {
        this.collect(events, 0);
        return;
      }
      if (this.sim !== null) {
        if (wakeAt === Infinity) {
          throw new IoError("EDEADLK", "poll would wait forever: nothing is ready and no timer is pending in virtual time");
        }
        this.sim.advanceTo(wakeAt);
        continue;
      }
      const wait = wakeAt === Infinity ? -1 : Math.min(Math.max(Math.ceil(wakeAt - now), 0), MAX_TIMEOUT);
      if (this.collect(events, wait) > 0) return;
    }
  }

  /**
   * Appends kernel events (epoll_wait for up to `timeoutMs`); returns how
   * many. When a driver's descriptor fired, the drivers run and the virtual
   * readiness they cause is appended too.
   */
  private collect(events: Events, timeoutMs: number): number {
    const room = events.capacity() - events.len;
    if (room === 0 || this.virtualTime) return 0;
    const first = events.len;
    const n = check(sys.epollWait(this.epfd, events.buf, first, room, timeoutMs), "epoll_wait");
    events.len = first + n;
    if (n > 0 && this.driverFds.length > 0 && this.takeInternal(events, first)) {
      this.runDrivers();
      this.drainVirtual(events);
    }
    return events.len - first;
  }

  /**
   * Removes the events of drivers' descriptors from `events` (from slot
   * `first`); true if there was one. A descriptor reporting an error or a
   * hang-up (its device is gone) stops being watched: watched
   * level-triggered, it would fire forever.
   */
  private takeInternal(events: Events, first: number): boolean {
    const buf = events.buf;
    const end = events.len;
    let kept = first;
    let found = false;
    for (let i = first; i < end; i++) {
      const token = buf[2 * i]!;
      const bits = buf[2 * i + 1]!;
      if (token >= INTERNAL_TOKEN) {
        found = true;
        if ((bits & ALWAYS) !== 0) this.unwatch(token);
        continue;
      }
      buf[2 * kept] = token;
      buf[2 * kept + 1] = bits;
      kept++;
    }
    events.len = kept;
    return found;
  }

  /** Stops watching the driver descriptor registered with `token`. */
  private unwatch(token: number): void {
    for (const e of this.driverFds) {
      if (e.token !== token || e.fd < 0) continue;
      sys.epollCtl(this.epfd, C.EPOLL_CTL_DEL, e.fd, 0, 0);
      e.fd = -1;
    }
  }

  /**
   * Moves queued virtual readiness into `events`. A registration woken again
   * after this poll call already delivered it (drivers ran twice) updates
   * its event instead of adding one: like epoll, a poll reports a source at
   * most once.
   */
  private drainVirtual(events: Events): void {
    const q = this.queue;
    while (this.head < q.length) {
      const reg = q[this.head]!;
      const bits = reg.active ? reg.readiness() & reg.mask : 0;
      if (bits !== 0) {
        if (reg.deliveredIn === this.serial && events.buf[2 * reg.slot] === reg.token) {
          events.buf[2 * reg.slot + 1] = bits;
        } else {
          if (!events.push(reg.token, bits)) break;
          reg.deliveredIn = this.serial;
          reg.slot = events.len - 1;
        }
      }
      reg.queued = false;
      this.head++;
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    }
  }

  close(): void {
    if (this.closed) return;
    this.waker?.close();
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    if (this.epfd >= 0) closeFd(this, this.epfd);
  }
}
