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

const ENOENT = -sys.errno.ENOENT!;
const EEXIST = -sys.errno.EEXIST!;
const ALWAYS = C.EPOLLERR | C.EPOLLHUP;
const MAX_TIMEOUT = 0x7fffffff;

/**
 * The registration of a virtual source: its token and interest, and its place
 * in the readiness queue. The source reports readiness edges with {@link ready}.
 */
export class VirtualRegistration {
  /** epoll bits waiting to be delivered; 0 when not queued */
  pending = 0;
  /** false once deregistered */
  active = true;
  mask: number;

  constructor(
    readonly selector: Selector,
    public token: number,
    interest: Interest,
  ) {
    this.mask = interest.epollEvents | ALWAYS;
  }

  /**
   * Reports a readiness edge (epoll bits: EPOLLIN, EPOLLOUT, EPOLLRDHUP,
   * EPOLLPRI, EPOLLERR, EPOLLHUP). Bits outside the interest are dropped, as
   * epoll does; errors and hang-ups are always reported.
   */
  ready(bits: number): void {
    if (this.active) this.selector.signal(this, bits & this.mask);
  }
}

export class Selector {
  readonly epfd: number;
  closed = false;
  /** whether a Waker was made for this selector */
  waker: { close(): void } | null = null;
  /** called when virtual readiness arrives (wakes a pending pollAsync) */
  onSignal: (() => void) | null = null;
  private queue: VirtualRegistration[] = [];
  private head = 0;

  constructor() {
    this.epfd = check(sys.epollCreate(), "epoll_create1");
    ownFd(this, this.epfd);
  }

  private live(): void {
    if (this.closed) throw new IoError("EBADF", "poll is closed");
  }

  registerFd(fd: number, token: number, interest: Interest): void {
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

  registerVirtual(token: number, interest: Interest): VirtualRegistration {
    this.live();
    return new VirtualRegistration(this, token, interest);
  }

  reregisterVirtual(reg: VirtualRegistration, token: number, interest: Interest): void {
    this.live();
    reg.token = token;
    reg.mask = interest.epollEvents | ALWAYS;
    reg.pending &= reg.mask;
  }

  deregisterVirtual(reg: VirtualRegistration): void {
    reg.active = false;
    reg.pending = 0;
  }

  /** @see VirtualRegistration.ready */
  signal(reg: VirtualRegistration, bits: number): void {
    if (bits === 0 || this.closed) return;
    if (reg.pending === 0) this.queue.push(reg);
    reg.pending |= bits;
    this.onSignal?.();
  }

  /** Whether virtual readiness is waiting to be delivered. */
  hasPending(): boolean {
    return this.head < this.queue.length;
  }

  /**
   * Fills `events`: queued virtual readiness first, then kernel events.
   * `timeoutMs`: -1 blocks; the wait is skipped when virtual events are queued.
   */
  select(events: Events, timeoutMs: number): void {
    this.live();
    events.clear();
    this.drainVirtual(events);
    const room = events.capacity() - events.len;
    if (room === 0) return;
    const timeout = events.len > 0 ? 0 : Math.min(timeoutMs, MAX_TIMEOUT);
    const n = check(sys.epollWait(this.epfd, events.buf, events.len, room, timeout), "epoll_wait");
    events.len += n;
  }

  private drainVirtual(events: Events): void {
    const q = this.queue;
    while (this.head < q.length) {
      const reg = q[this.head]!;
      if (reg.pending !== 0) {
        if (!events.push(reg.token, reg.pending)) break;
        reg.pending = 0;
      }
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
    closeFd(this, this.epfd);
  }
}
