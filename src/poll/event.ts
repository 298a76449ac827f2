import { C } from "../native.js";
import type { Token } from "./token.js";

const IN = C.EPOLLIN;
const OUT = C.EPOLLOUT;
const PRI = C.EPOLLPRI;
const ERR = C.EPOLLERR;
const HUP = C.EPOLLHUP;
const RDHUP = C.EPOLLRDHUP;

/**
 * One readiness event: a view over a slot of its {@link Events} buffer (valid
 * until the next poll into that buffer). Flags follow mio on Linux: readable
 * and writable are guaranteed; the closed and error flags are hints.
 */
export class Event {
  /** @internal */
  constructor(
    private readonly buf: Float64Array,
    private readonly at: number,
  ) {}

  private get bits(): number {
    return this.buf[this.at + 1]!;
  }

  /** The token the source was registered with. */
  token(): Token {
    return this.buf[this.at] as Token;
  }

  isReadable(): boolean {
    return (this.bits & (IN | PRI)) !== 0;
  }

  isWritable(): boolean {
    return (this.bits & OUT) !== 0;
  }

  /** The source reported an error (`EPOLLERR`); `takeError()` tells which. */
  isError(): boolean {
    return (this.bits & ERR) !== 0;
  }

  /** The read half is closed: the peer shut down writing, or the socket hung up. */
  isReadClosed(): boolean {
    const b = this.bits;
    return (b & HUP) !== 0 || ((b & IN) !== 0 && (b & RDHUP) !== 0);
  }

  /** The write half is closed: hung up, or an error on a writable socket. */
  isWriteClosed(): boolean {
    const b = this.bits;
    return (b & HUP) !== 0 || ((b & OUT) !== 0 && (b & ERR) !== 0) || b === ERR;
  }

  /** Priority (out-of-band) data is ready. */
  isPriority(): boolean {
    return (this.bits & PRI) !== 0;
  }

  toString(): string {
    const flags = (
      [
        ["readable", this.isReadable()],
        ["writable", this.isWritable()],
        ["error", this.isError()],
        ["read_closed", this.isReadClosed()],
        ["write_closed", this.isWriteClosed()],
        ["priority", this.isPriority()],
      ] as const
    )
      .filter(([, on]) => on)
      .map(([n]) => n);
    return `Event { token: ${this.token()}, ${flags.join(" | ") || "(none)"} }`;
  }
}

/**
 * Storage for the events of one poll. `poll` clears it and fills at most
 * {@link Events.capacity} events; the rest arrive on the next poll. Events are
 * flyweights over one `Float64Array`: polling allocates nothing.
 */
export class Events implements Iterable<Event> {
  /** @internal (token, epoll bits) pairs */
  readonly buf: Float64Array;
  /** @internal */
  len = 0;
  private readonly slots: Event[];

  /** Room for `capacity` (a positive integer) events per poll. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 1 << 20) {
      throw new TypeError(`events capacity must be an integer in 1..${1 << 20}, got ${String(capacity)}`);
    }
    this.buf = new Float64Array(capacity * 2);
    this.slots = Array.from({ length: capacity }, (_, i) => new Event(this.buf, i * 2));
  }

  /** Same as `new Events(capacity)`. */
  static withCapacity(capacity: number): Events {
    return new Events(capacity);
  }

  capacity(): number {
    return this.slots.length;
  }

  isEmpty(): boolean {
    return this.len === 0;
  }

  /** The number of events from the last poll. */
  get length(): number {
    return this.len;
  }

  clear(): void {
    this.len = 0;
  }

  /** The events from the last poll. */
  *iter(): IterableIterator<Event> {
    for (let i = 0; i < this.len; i++) yield this.slots[i]!;
  }

  [Symbol.iterator](): IterableIterator<Event> {
    return this.iter();
  }

  /** @internal appends one event; false when full */
  push(token: number, bits: number): boolean {
    if (this.len === this.slots.length) return false;
    this.buf[this.len * 2] = token;
    this.buf[this.len * 2 + 1] = bits;
    this.len++;
    return true;
  }
}
