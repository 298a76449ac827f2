import { Random } from "../../random.js";
import { flipRandomBit } from "./bit-flip.js";
import { probability, seedOf } from "./check.js";
import type { Device } from "./device.js";
import { type Direction, DeviceWrapper } from "./wrapper.js";

/** Options of a {@link FaultInjector}; every fault off by default. */
export interface FaultInjectorOptions {
  /** Probability that a packet is dropped (default 0). */
  loss?: number;
  /** Probability that a packet is passed on twice (default 0). */
  duplicate?: number;
  /** Probability that one random bit of a copy is flipped (default 0). */
  corrupt?: number;
  /** Seed of every random choice (any safe integer, default 0). */
  seed?: number;
  /** Which packets suffer: received, transmitted, or both (default). */
  direction?: Direction | "both";
}

/** Counters of one direction of a {@link FaultInjector}. */
export interface FaultStats {
  /** Packets that came through the injector in this direction, dropped ones included. */
  packets: number;
  /** Packets dropped. */
  dropped: number;
  /** Packets passed on twice. */
  duplicated: number;
  /** Copies with one bit flipped. */
  corrupted: number;
}

/** Counters of a {@link FaultInjector}, per direction. */
export interface FaultInjectorStats {
  rx: FaultStats;
  tx: FaultStats;
}

/** The faults of one direction, with their own random streams. */
class Faults {
  readonly stats: FaultStats = { packets: 0, dropped: 0, duplicated: 0, corrupted: 0 };
  private readonly lossRng: Random;
  private readonly duplicateRng: Random;
  private readonly corruptRng: Random;

  constructor(
    readonly enabled: boolean,
    private readonly opts: { loss: number; duplicate: number; corrupt: number },
    seed: number,
    direction: Direction,
  ) {
    this.lossRng = new Random(seed, `fault:${direction}:loss`);
    this.duplicateRng = new Random(seed, `fault:${direction}:duplicate`);
    this.corruptRng = new Random(seed, `fault:${direction}:corrupt`);
  }

  /** How many copies of a packet to pass on: 0 (lost), 1 or 2 (duplicated). */
  copies(): number {
    this.stats.packets++;
    if (!this.enabled) return 1;
    if (this.lossRng.chance(this.opts.loss)) {
      this.stats.dropped++;
      return 0;
    }
    if (this.duplicateRng.chance(this.opts.duplicate)) {
      this.stats.duplicated++;
      return 2;
    }
    return 1;
  }

  /** Whether this direction may flip bits. */
  corrupts(): boolean {
    return this.enabled && this.opts.corrupt > 0;
  }

  /** `packet`, or a corrupted copy of it. */
  maybeCorrupt(packet: Uint8Array): Uint8Array {
    if (!this.enabled || !this.corruptRng.chance(this.opts.corrupt)) return packet;
    const copy = packet.slice();
    if (flipRandomBit(copy, this.corruptRng)) this.stats.corrupted++;
    return copy;
  }
}

/**
 * Middleware that drops, duplicates and corrupts packets going through any
 * device, with seeded randomness (each fault and direction draws from its
 * own stream). Each copy of a duplicated packet may be corrupted on its own.
 */
export class FaultInjector extends DeviceWrapper {
  private readonly rx: Faults;
  private readonly tx: Faults;
  /** The second copy of a duplicated received packet, returned by the next `receive`. */
  private pending: Uint8Array | null = null;

  /** Wraps `device`. Throws a TypeError naming the option that is out of range. */
  constructor(device: Device, options: FaultInjectorOptions = {}) {
    super(device);
    const direction = options.direction ?? "both";
    if (direction !== "rx" && direction !== "tx" && direction !== "both") {
      throw new TypeError(`direction must be "rx", "tx" or "both", got ${JSON.stringify(direction)}`);
    }
    const opts = {
      loss: probability("loss", options.loss),
      duplicate: probability("duplicate", options.duplicate),
      corrupt: probability("corrupt", options.corrupt),
    };
    const seed = seedOf(options.seed);
    this.rx = new Faults(direction !== "tx", opts, seed, "rx");
    this.tx = new Faults(direction !== "rx", opts, seed, "tx");
  }

  /** The next packet from the wrapped device that survives, or null. */
  receive(): Uint8Array | null {
    if (this.pending !== null) {
      const packet = this.pending;
      this.pending = null;
      return packet;
    }
    for (;;) {
      const packet = this.inner.receive();
      if (packet === null) return null;
      const copies = this.rx.copies();
      if (copies === 0) continue;
      if (copies === 2) this.pending = this.rx.maybeCorrupt(packet.slice());
      return this.rx.maybeCorrupt(packet);
    }
  }

  /** Transmits `packet` on the wrapped device zero, one or two times. */
  transmit(packet: Uint8Array): void {
    const copies = this.tx.copies();
    for (let i = 0; i < copies; i++) this.inner.transmit(this.tx.maybeCorrupt(packet));
  }

  /** False when received packets may be corrupted here (their checksums must catch it), else the wrapped device's flag. */
  override get checksumsVerified(): boolean {
    return !this.rx.corrupts() && super.checksumsVerified;
  }

  /** Now when the second copy of a duplicated packet waits, else the wrapped device's `pollAt`. */
  override pollAt(): number | null {
    return this.pending !== null ? this.clock.now() : super.pollAt();
  }

  /** A snapshot of the counters. */
  stats(): FaultInjectorStats {
    return { rx: { ...this.rx.stats }, tx: { ...this.tx.stats } };
  }
}
