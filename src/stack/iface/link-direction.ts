import { Random } from "../../random.js";
import { ArrivalQueue } from "./arrival-queue.js";
import { flipRandomBit } from "./bit-flip.js";

/** Counters of one direction of a {@link Link}. */
export interface LinkDirectionStats {
  /** Packets handed to `transmit` (dropped ones included). */
  sent: number;
  /** Bytes handed to `transmit`. */
  sentBytes: number;
  /** Packets taken by `receive` at the far end (duplicates included). */
  delivered: number;
  /** Bytes taken by `receive` at the far end. */
  deliveredBytes: number;
  /** Packets scheduled but not yet taken by `receive` (arrived or still on the wire). */
  inFlight: number;
  /** Packets delivered twice (each counts once here and twice in `delivered`). */
  duplicated: number;
  /** Copies with one bit flipped. */
  corrupted: number;
  /** Copies held back so that later packets overtake them. */
  reordered: number;
  /** Packets dropped, by reason. */
  dropped: {
    /** Lost on the wire (the `loss` probability). */
    loss: number;
    /** Tail-dropped because the transmit queue was full. */
    queue: number;
    /** Larger than the MTU. */
    mtu: number;
    /** Sent while the link was down, or on the wire when it went down. */
    down: number;
  };
}

/** Why a Link dropped a packet handed to it (see {@link LinkDirectionStats.dropped}). */
export type LinkDropReason = "loss" | "queue" | "mtu" | "down";

/** The resolved options of a Link, shared by its two directions. @internal */
export interface LinkParams {
  mtu: number;
  delayMs: number;
  jitterMs: number;
  loss: number;
  duplicate: number;
  reorder: number;
  reorderDelayMs: number;
  corrupt: number;
  bandwidthBps: number;
  queueBytes: number;
}

/** Packet copies are carved out of slabs of this many MTU-sized packets, within [MIN_SLAB, MAX_SLAB] bytes. */
const SLAB_PACKETS = 16;
const MIN_SLAB = 64 * 1024;
const MAX_SLAB = 1 << 20;

/** Slack when comparing the (floating point) backlog with the queue limit. */
const QUEUE_EPSILON = 1e-6;

/**
 * One direction of a Link: a FIFO transmitter with a byte-limited queue, the
 * wire's impairments, and the packets in flight. Each impairment draws from
 * its own seeded stream, so enabling one does not change the draws of another.
 * @internal
 */
export class LinkDirection {
  private readonly inFlight = new ArrivalQueue();
  /** where packet copies are carved from (see {@link copy}) */
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  private readonly slabSize: number;
  /** When the transmitter finishes serializing what it has been given. */
  private busyUntil = 0;
  private readonly lossRng: Random;
  private readonly duplicateRng: Random;
  private readonly corruptRng: Random;
  private readonly jitterRng: Random;
  private readonly reorderRng: Random;
  private readonly counters: LinkDirectionStats = {
    sent: 0,
    sentBytes: 0,
    delivered: 0,
    deliveredBytes: 0,
    inFlight: 0,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    dropped: { loss: 0, queue: 0, mtu: 0, down: 0 },
  };

  /** told of each packet dropped at `send` (not of those cut off the wire by a link going down) */
  onDrop: ((packet: Uint8Array, reason: LinkDropReason) => void) | null = null;

  /** `label` names the direction ("a>b"), so that both directions draw independently. */
  constructor(
    private readonly params: LinkParams,
    seed: number,
    label: string,
  ) {
    this.lossRng = new Random(seed, `link:${label}:loss`);
    this.duplicateRng = new Random(seed, `link:${label}:duplicate`);
    this.corruptRng = new Random(seed, `link:${label}:corrupt`);
    this.jitterRng = new Random(seed, `link:${label}:jitter`);
    this.reorderRng = new Random(seed, `link:${label}:reorder`);
    this.slabSize = Math.min(Math.max(SLAB_PACKETS * params.mtu, MIN_SLAB), MAX_SLAB);
  }

  /** Puts a copy of `packet` on the wire at time `now`; `down` drops it. */
  send(packet: Uint8Array, now: number, down: boolean): void {
    const p = this.params;
    const c = this.counters;
    c.sent++;
    c.sentBytes += packet.length;
    if (down) {
      c.dropped.down++;
      this.onDrop?.(packet, "down");
      return;
    }
    if (packet.length > p.mtu) {
      c.dropped.mtu++;
      this.onDrop?.(packet, "mtu");
      return;
    }
    // (a link whose rate was lifted still owes what it had queued: FIFO)
    let departed = Math.max(now, this.busyUntil);
    if (p.bandwidthBps > 0) {
      const start = Math.max(now, this.busyUntil);
      const backlog = ((start - now) * p.bandwidthBps) / 8000;
      if (backlog + packet.length > p.queueBytes + QUEUE_EPSILON) {
        c.dropped.queue++;
        this.onDrop?.(packet, "queue");
        return;
      }
      this.busyUntil = start + (packet.length * 8000) / p.bandwidthBps;
      departed = this.busyUntil;
    }
    if (this.lossRng.chance(p.loss)) {
      c.dropped.loss++;
      this.onDrop?.(packet, "loss");
      return;
    }
    const copies = this.duplicateRng.chance(p.duplicate) ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let i = 0; i < copies; i++) this.launch(this.copy(packet), departed);
  }

  /**
   * A copy of `packet` carved out of a slab: one allocation per slab instead
   * of one per packet. A slab stays alive while any packet in it does; each
   * copy starts 8-byte aligned (word-at-a-time checksums).
   */
  private copy(packet: Uint8Array): Uint8Array {
    const n = packet.length;
    if (this.slabUsed + n > this.slab.length) {
      this.slab = new Uint8Array(Math.max(n, this.slabSize));
      this.slabUsed = 0;
    }
    const copy = this.slab.subarray(this.slabUsed, this.slabUsed + n);
    copy.set(packet);
    this.slabUsed += (n + 7) & ~7;
    return copy;
  }

  /** The next packet that has arrived by `now`, or null. */
  receive(now: number): Uint8Array | null {
    const packet = this.inFlight.popDue(now);
    if (packet !== null) {
      this.counters.delivered++;
      this.counters.deliveredBytes += packet.length;
    }
    return packet;
  }

  /** The earliest arrival time of a packet not yet received, or null. */
  nextArrival(): number | null {
    return this.inFlight.nextAt();
  }

  /** The link went down at `now`: what is still on the wire is lost. */
  cut(now: number): void {
    this.counters.dropped.down += this.inFlight.removeAfter(now);
  }

  /** A snapshot of the counters. */
  stats(): LinkDirectionStats {
    return { ...this.counters, inFlight: this.inFlight.size, dropped: { ...this.counters.dropped } };
  }

  /** Sends one copy down the wire: corruption, delay, jitter and hold-back. */
  private launch(copy: Uint8Array, departed: number): void {
    const p = this.params;
    if (this.corruptRng.chance(p.corrupt) && flipRandomBit(copy, this.corruptRng)) this.counters.corrupted++;
    let at = departed + p.delayMs;
    if (p.jitterMs > 0) at += this.jitterRng.float() * p.jitterMs;
    if (this.reorderRng.chance(p.reorder)) {
      at += p.reorderDelayMs;
      this.counters.reordered++;
    }
    this.inFlight.push(at, copy);
  }
}
