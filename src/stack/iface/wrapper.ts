import { type Clock, realClock } from "../../poll/clock.js";
import type { Device } from "./device.js";

/** Which way a packet goes through a device: received by the stack, or transmitted by it. */
export type Direction = "rx" | "tx";

/**
 * Base of the middleware that wraps a Device: passes `mtu`, `fd`, `attach`
 * and `pollAt` through to the wrapped device and keeps the attached clock
 * (the real clock until `attach`) for timestamps.
 */
export abstract class DeviceWrapper implements Device {
  /** The clock given to `attach`. */
  protected clock: Clock = realClock;

  /** Wraps `inner`, the device packets really go through. */
  constructor(readonly inner: Device) {}

  /** The wrapped device's MTU. */
  get mtu(): number {
    return this.inner.mtu;
  }

  /** Whether the wrapped device marks received checksums as verified. */
  get checksumsVerified(): boolean {
    return this.inner.checksumsVerified === true;
  }

  /** The wrapped device's descriptor, if it has one. */
  get fd(): number | undefined {
    return this.inner.fd;
  }

  /** Keeps `clock` and attaches the wrapped device to it. */
  attach(clock: Clock): void {
    this.clock = clock;
    this.inner.attach?.(clock);
  }

  /** The wrapped device's `pollAt`, or null when it has none. */
  pollAt(): number | null {
    return this.inner.pollAt?.() ?? null;
  }

  abstract receive(): Uint8Array | null;

  abstract transmit(packet: Uint8Array): void;
}
