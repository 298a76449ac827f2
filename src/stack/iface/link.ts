/**
 * An in-memory point-to-point link between two Devices, with seeded
 * impairments: the same seed and the same transmit schedule give the same
 * packets at the same (virtual) times.
 */
import { type Clock, realClock } from "../../poll/clock.js";
import { mtuOf, nonNegative, probability, seedOf } from "./check.js";
import type { Device } from "./device.js";
import { type LinkDirectionStats, LinkDirection, type LinkDropReason, type LinkParams } from "./link-direction.js";

/** Options of a {@link Link}; all optional, every impairment off by default. */
export interface LinkOptions {
  /** Largest packet carried, in bytes (68..65535, default 1500); larger ones are dropped. */
  mtu?: number;
  /** One-way propagation delay in ms (default 0). */
  delayMs?: number;
  /**
   * Extra delay, uniform in [0, jitterMs), drawn per packet (default 0). Jitter
   * larger than the gap between two packets reorders them, as netem does.
   */
  jitterMs?: number;
  /** Probability that a packet is lost on the wire (default 0). */
  loss?: number;
  /** Probability that a packet is delivered twice (default 0). */
  duplicate?: number;
  /** Probability that a copy is held back by `reorderDelayMs`, so later packets overtake it (default 0). */
  reorder?: number;
  /** How long a held-back copy is delayed, in ms (default `max(delayMs, 1)`). */
  reorderDelayMs?: number;
  /** Probability that one random bit of a copy is flipped (default 0). */
  corrupt?: number;
  /** Transmitter rate in bits per second; 0 (default) means unlimited, no serialization delay and no queue. */
  bandwidthBps?: number;
  /**
   * With a bandwidth: the most bytes that may wait for the transmitter,
   * counting the unsent part of the packet being serialized. A packet that
   * would exceed it is tail-dropped. Default 100 × mtu; must be >= mtu.
   */
  queueBytes?: number;
  /** Seed of every random choice (any safe integer, default 0). */
  seed?: number;
  /**
   * Checksum offload, as on a veth pair: the stacks at both ends skip
   * verifying the TCP and UDP checksums of the packets they receive (they
   * still compute them on send, so captures show correct checksums). Only for
   * packets that stacks sent: a hand-made packet with a wrong checksum, or one
   * corrupted by a FaultInjector before the link, gets through unchecked.
   * Ignored (off) when `corrupt` > 0. Default false.
   */
  checksumsVerified?: boolean;
}

/** What {@link Link.configure} changes on a running link: the impairments, delay and rate. */
export type LinkImpairments = Pick<
  LinkOptions,
  "delayMs" | "jitterMs" | "loss" | "duplicate" | "reorder" | "reorderDelayMs" | "corrupt" | "bandwidthBps" | "queueBytes"
>;

/** Options that only a new Link can have. */
const FIXED_OPTIONS = ["mtu", "seed", "checksumsVerified"] as const;

/** Counters of both directions of a {@link Link}. */
export interface LinkStats {
  /** Packets transmitted on `link.a`, received on `link.b`. */
  aToB: LinkDirectionStats;
  /** Packets transmitted on `link.b`, received on `link.a`. */
  bToA: LinkDirectionStats;
}

/**
 * One end of a {@link Link} (`link.a` or `link.b`), a Device whose packets
 * come out of the other end. Made by the Link.
 */
export class LinkEnd implements Device {
  /** @internal */
  constructor(
    private readonly link: Link,
    private readonly outgoing: LinkDirection,
    private readonly incoming: LinkDirection,
    /** The largest IP packet carried, in bytes. */
    readonly mtu: number,
    /** Whether receiving stacks skip verifying TCP/UDP checksums (the link's `checksumsVerified`). */
    readonly checksumsVerified: boolean,
  ) {}

  /** The next packet whose arrival time has come on the link's clock, or null. */
  receive(): Uint8Array | null {
    return this.incoming.receive(this.link.now());
  }

  /** Puts a copy of `packet` on the wire towards the other end. */
  transmit(packet: Uint8Array): void {
    this.outgoing.send(packet, this.link.now(), this.link.isDown());
  }

  /**
   * Sets the clock of the whole link (both ends share one). Throws a TypeError
   * if the link is already attached to a different clock. Attach before the
   * first transmit: until then the link runs on the real clock.
   */
  attach(clock: Clock): void {
    this.link.useClock(clock);
  }

  /** The arrival time of the next packet for this end (possibly already past), or null. */
  pollAt(): number | null {
    return this.incoming.nextArrival();
  }
}

/**
 * A pair of connected Devices, `a` and `b`, carrying raw IP packets. A packet
 * transmitted at time t on one end arrives at the other at
 * `max(t, transmitter free) + bytes·8/bandwidthBps + delayMs + jitter`
 * (plus `reorderDelayMs` when held back), unless dropped. Each direction has
 * its own transmitter and its own random streams derived from `seed`.
 *
 * @example
 * const link = new Link({ mtu: 1500, delayMs: 5, loss: 0.01, seed: 7 });
 * link.a.attach(clock); link.b.attach(clock);
 * link.a.transmit(packet); // arrives on link.b 5 ms later, 99 % of the time
 */
export class Link {
  /** One end. */
  readonly a: LinkEnd;
  /** The other end. */
  readonly b: LinkEnd;
  private readonly ab: LinkDirection;
  private readonly ba: LinkDirection;
  private clock: Clock = realClock;
  private attached = false;
  private down = false;

  private readonly params: LinkParams;
  private readonly verified: boolean;
  /** whether reorderDelayMs was given (else it follows delayMs) */
  private reorderDelayGiven: boolean;

  /** Throws a TypeError naming the option that is out of range. */
  constructor(options: LinkOptions = {}) {
    const mtu = mtuOf(options.mtu, 1500);
    const params = (this.params = resolveParams(options, { mtu, delayMs: 0, jitterMs: 0, loss: 0, duplicate: 0, reorder: 0, reorderDelayMs: -1, corrupt: 0, bandwidthBps: 0, queueBytes: 100 * mtu }));
    this.reorderDelayGiven = options.reorderDelayMs !== undefined;
    const seed = seedOf(options.seed);
    this.ab = new LinkDirection(params, seed, "a>b");
    this.ba = new LinkDirection(params, seed, "b>a");
    if (options.checksumsVerified !== undefined && typeof options.checksumsVerified !== "boolean") {
      throw new TypeError(`checksumsVerified must be a boolean, got ${typeof options.checksumsVerified}`);
    }
    const verified = (this.verified = options.checksumsVerified === true && params.corrupt === 0);
    this.a = new LinkEnd(this, this.ab, this.ba, mtu, verified);
    this.b = new LinkEnd(this, this.ba, this.ab, mtu, verified);
  }

  /**
   * Changes the impairments, delay and rate of a running link, both
   * directions, as `tc qdisc change … netem` does: options left out keep
   * their values; `reorderDelayMs`, if never given, follows `delayMs`.
   * Packets transmitted from now on get the new values; packets already
   * handed to the link keep their schedule: new ones queue behind those the
   * transmitter still owes, and a shorter delay lets them overtake those on
   * the wire. Throws a TypeError naming the
   * first bad option, and then changes nothing; `mtu`, `seed` and
   * `checksumsVerified` belong to the link for life, and a link made with
   * `checksumsVerified` cannot start corrupting.
   */
  configure(options: LinkImpairments): void {
    if (options === null || typeof options !== "object") throw new TypeError("link.configure expects an object of impairments, like { loss: 0.05 }");
    for (const k of FIXED_OPTIONS) {
      if (k in options) throw new TypeError(`link.configure: ${k} is fixed when the link is made`);
    }
    const next = resolveParams(options, this.params);
    if (this.verified && next.corrupt > 0) throw new TypeError("link.configure: a link made with checksumsVerified cannot corrupt packets");
    if (options.reorderDelayMs !== undefined) this.reorderDelayGiven = true;
    else if (!this.reorderDelayGiven) next.reorderDelayMs = Math.max(next.delayMs, 1);
    Object.assign(this.params, next);
  }

  /**
   * Calls `fn` for each packet the link drops when it is transmitted (lost,
   * tail-dropped, over the MTU, or sent while down), with the end it was
   * transmitted on; null stops. Packets on the wire when the link goes down
   * are counted but not shown. The bytes are valid during the call only.
   */
  onDrop(fn: ((packet: Uint8Array, reason: LinkDropReason, from: LinkEnd) => void) | null): void {
    if (fn !== null && typeof fn !== "function") throw new TypeError("link.onDrop expects a function (packet, reason, from) or null");
    this.ab.onDrop = fn === null ? null : (packet, reason) => fn(packet, reason, this.a);
    this.ba.onDrop = fn === null ? null : (packet, reason) => fn(packet, reason, this.b);
  }

  /** A snapshot of the counters of both directions. */
  stats(): LinkStats {
    return { aToB: this.ab.stats(), bToA: this.ba.stats() };
  }

  /**
   * Takes the link down (a partition) or brings it back up. Going down loses
   * every packet still on the wire in both directions (packets that have
   * already arrived stay receivable); while down, every transmitted packet is
   * dropped. Counted as `dropped.down`.
   */
  setDown(down: boolean): void {
    if (typeof down !== "boolean") throw new TypeError(`setDown expects a boolean, got ${typeof down}`);
    if (down && !this.down) {
      const now = this.now();
      this.ab.cut(now);
      this.ba.cut(now);
    }
    this.down = down;
  }

  /** Whether the link is down. */
  isDown(): boolean {
    return this.down;
  }

  /** The link's current time, ms. @internal */
  now(): number {
    return this.clock.now();
  }

  /** Called by the ends' `attach`. @internal */
  useClock(clock: Clock): void {
    if (this.attached && clock !== this.clock) {
      throw new TypeError("both ends of a Link must be attached to the same clock");
    }
    this.clock = clock;
    this.attached = true;
  }
}

/** `current` with the options given in `options`, checked; a TypeError names the first bad one. */
function resolveParams(options: LinkOptions, current: LinkParams): LinkParams {
  const mtu = current.mtu;
  const delayMs = nonNegative("delayMs", options.delayMs, current.delayMs);
  const queueBytes = nonNegative("queueBytes", options.queueBytes, current.queueBytes);
  if (queueBytes < mtu) throw new TypeError(`queueBytes must be >= mtu (${mtu}), got ${queueBytes}`);
  return {
    mtu,
    delayMs,
    jitterMs: nonNegative("jitterMs", options.jitterMs, current.jitterMs),
    loss: options.loss === undefined ? current.loss : probability("loss", options.loss),
    duplicate: options.duplicate === undefined ? current.duplicate : probability("duplicate", options.duplicate),
    reorder: options.reorder === undefined ? current.reorder : probability("reorder", options.reorder),
    reorderDelayMs: nonNegative("reorderDelayMs", options.reorderDelayMs, current.reorderDelayMs < 0 ? Math.max(delayMs, 1) : current.reorderDelayMs),
    corrupt: options.corrupt === undefined ? current.corrupt : probability("corrupt", options.corrupt),
    bandwidthBps: nonNegative("bandwidthBps", options.bandwidthBps, current.bandwidthBps),
    queueBytes,
  };
}
