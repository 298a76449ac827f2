import type { Device } from "./device.js";
import { type Direction, DeviceWrapper } from "./wrapper.js";

/**
 * Called for each packet through a {@link Tracer}, with the attached clock's
 * time in ms. `packet` is the device's buffer: read it during the call, copy
 * it to keep it, never modify it.
 */
export type TraceFn = (direction: Direction, packet: Uint8Array, timeMs: number) => void;

/** Middleware that shows every packet received (`"rx"`) and transmitted (`"tx"`) to a function. */
export class Tracer extends DeviceWrapper {
  /** Wraps `device`; `fn` sees each packet before it is passed on. */
  constructor(
    device: Device,
    private readonly fn: TraceFn,
  ) {
    super(device);
    if (typeof fn !== "function") throw new TypeError("Tracer needs a function");
  }

  /** Receives from the wrapped device and traces the packet, if any. */
  receive(): Uint8Array | null {
    const packet = this.inner.receive();
    if (packet !== null) this.fn("rx", packet, this.clock.now());
    return packet;
  }

  /** Traces `packet`, then transmits it on the wrapped device. */
  transmit(packet: Uint8Array): void {
    this.fn("tx", packet, this.clock.now());
    this.inner.transmit(packet);
  }
}
