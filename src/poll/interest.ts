import { C } from "../native.js";

const R = 1;
const W = 2;
const P = 4;
const NAMES: ReadonlyArray<[number, string]> = [[R, "READABLE"], [W, "WRITABLE"], [P, "PRIORITY"]];

/**
 * The readiness a source is registered for: {@link Interest.READABLE},
 * {@link Interest.WRITABLE}, {@link Interest.PRIORITY} or a combination made
 * with {@link Interest.add}. An empty interest cannot be made.
 */
export class Interest {
  /** Readable readiness (and read-closed / error hints). */
  static readonly READABLE: Interest;
  /** Writable readiness (and write-closed / error hints). */
  static readonly WRITABLE: Interest;
  /** Priority (out-of-band) readiness, `EPOLLPRI`. */
  static readonly PRIORITY: Interest;

  /** @internal one instance per combination, so `add` never allocates */
  static readonly all: readonly Interest[];

  /** @internal the epoll bits this interest registers, with `EPOLLET` */
  readonly epollEvents: number;

  private constructor(private readonly bits: number) {
    this.epollEvents =
      C.EPOLLET |
      (bits & R ? C.EPOLLIN | C.EPOLLRDHUP : 0) |
      (bits & W ? C.EPOLLOUT : 0) |
      (bits & P ? C.EPOLLPRI : 0);
  }

  /** This interest together with `other`. */
  add(other: Interest): Interest {
    return Interest.all[this.bits | other.bits]!;
  }

  /** This interest without `other`, or `undefined` if nothing would be left. */
  remove(other: Interest): Interest | undefined {
    const bits = this.bits & ~other.bits;
    return bits === 0 ? undefined : Interest.all[bits];
  }

  isReadable(): boolean {
    return (this.bits & R) !== 0;
  }

  isWritable(): boolean {
    return (this.bits & W) !== 0;
  }

  isPriority(): boolean {
    return (this.bits & P) !== 0;
  }

  /** `"READABLE | WRITABLE"` */
  toString(): string {
    return NAMES.filter(([b]) => this.bits & b).map(([, n]) => n).join(" | ");
  }

  static {
    const all: Interest[] = [];
    for (let b = 0; b < 8; b++) all.push(new Interest(b));
    (this as { all: readonly Interest[] }).all = all;
    (this as { READABLE: Interest }).READABLE = all[R]!;
    (this as { WRITABLE: Interest }).WRITABLE = all[W]!;
    (this as { PRIORITY: Interest }).PRIORITY = all[P]!;
  }
}

/** Throws `TypeError` unless `v` is an {@link Interest}. @internal */
export function checkInterest(v: unknown): asserts v is Interest {
  if (!(v instanceof Interest) || v === Interest.all[0]) {
    throw new TypeError("interest must be Interest.READABLE, WRITABLE, PRIORITY or a combination");
  }
}
