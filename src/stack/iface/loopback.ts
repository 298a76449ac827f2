import { type Clock, realClock } from "../../poll/clock.js";
import { integerIn, mtuOf } from "./check.js";
import type { Device } from "./device.js";
import { Fifo } from "./fifo.js";

/** Options of a {@link Loopback}. */
export interface LoopbackOptions {
  /** Largest packet carried, in bytes (68..65535, default 65535); larger ones are dropped. */
  mtu?: number;
  /** Most packets that may wait to be received (default 1000, Linux's backlog); more are dropped. */
  queueLength?: number;
  /**
   * Checksum offload, as Linux's loopback: the stack skips verifying the TCP
   * and UDP checksums of what it receives (it still computes them on send).
   * Default false.
   */
  checksumsVerified?: boolean;
}

/** Counters of a {@link Loopback}. */
export interface LoopbackStats {
  /** Packets handed to `transmit` (dropped ones included). */
  sent: number;
  /** Packets taken by `receive`. */
  delivered: number;
  /** Packets waiting to be received. */
  queued: number;
  /** Packets dropped, by reason. */
  dropped: {
    /** The queue held `queueLength` packets already. */
    queue: number;
    /** Larger than the MTU. */
    mtu: number;
  };
}

/**
 * A device whose transmitted packets come back out of its own `receive`, in
 * order and at once (a stack talking to itself).
 */
export class Loopback implements Device {
  /** The largest IP packet carried, in bytes. */
  readonly mtu: number;
  /** Whether the stack skips verifying received TCP/UDP checksums. */
  readonly checksumsVerified: boolean;
  private readonly queueLength: number;
  private readonly queue = new Fifo<Uint8Array>();
  private clock: Clock = realClock;
  private readonly counters = { sent: 0, delivered: 0, dropped: { queue: 0, mtu: 0 } };

  /** Throws a TypeError naming the option that is out of range. */
  constructor(options: LoopbackOptions = {}) {
    this.mtu = mtuOf(options.mtu, 65535);
    this.queueLength = integerIn("queueLength", options.queueLength, 1000, 1, 2 ** 31 - 1);
    if (options.checksumsVerified !== undefined && typeof options.checksumsVerified !== "boolean") {
      throw new TypeError(`checksumsVerified must be a boolean, got ${typeof options.checksumsVerified}`);
    }
    this.checksumsVerified = options.checksumsVerified === true;
  }

  /** The oldest packet transmitted and not yet received, or null. */
  receive(): Uint8Array | null {
    const packet = this.queue.shift();
    if (packet === undefined) return null;
    this.counters.delivered++;
    return packet;
  }

  /** Queues a copy of `packet` for `receive`, or drops it (too large, or the queue is full). */
  transmit(packet: Uint8Array): void {
    this.counters.sent++;
    if (packet.length > this.mtu) {
      this.counters.dropped.mtu++;
    } else if (this.queue.length >= this.queueLength) {
      this.counters.dropped.queue++;
    } else {
      this.queue.push(packet.slice());
    }
  }

  /** Uses `clock` for {@link pollAt}. */
  attach(clock: Clock): void {
    this.clock = clock;
  }

  /** Now when packets wait, else null. */
  pollAt(): number | null {
    return this.queue.length > 0 ? this.clock.now() : null;
  }

  /** A snapshot of the counters. */
  stats(): LoopbackStats {
    const c = this.counters;
    return { sent: c.sent, delivered: c.delivered, queued: this.queue.length, dropped: { ...c.dropped } };
  }
}
