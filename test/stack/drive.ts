/**
 * Drives devices through virtual time in tests: sends packets at given
 * times and receives each one exactly when it arrives.
 */
import type { SimClock } from "../../src/poll/clock.js";
import type { Device } from "../../src/stack/iface/index.js";

/** A packet to transmit on `device` at time `at`. */
export interface Send {
  at: number;
  device: Device;
  packet: Uint8Array;
}

/** A packet received on `device` at time `at`. */
export interface Arrival {
  at: number;
  device: Device;
  packet: Uint8Array;
}

/** A packet whose first four bytes are `seq` (big-endian), `length` bytes long, the rest a pattern. */
export function numbered(seq: number, length = 100): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 4; i < length; i++) p[i] = (seq + i) & 0xff;
  new DataView(p.buffer).setUint32(0, seq);
  return p;
}

/** The sequence number written by {@link numbered}. */
export function seqOf(packet: Uint8Array): number {
  return new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(0);
}

/**
 * Runs the simulation: repeatedly moves `clock` to the earliest of the next
 * send and the next arrival on `receivers`, receives everything that has
 * arrived, then transmits what is due. Stops when nothing is left (bounded).
 */
export function simulate(clock: SimClock, sends: Send[], receivers: Device[]): Arrival[] {
  const queue = [...sends].sort((x, y) => x.at - y.at);
  const arrivals: Arrival[] = [];
  let next = 0;
  for (let step = 0; step < 10_000_000; step++) {
    for (const device of receivers) {
      for (let p = device.receive(); p !== null; p = device.receive()) arrivals.push({ at: clock.now(), device, packet: p });
    }
    while (next < queue.length && queue[next]!.at <= clock.now()) {
      const s = queue[next++]!;
      s.device.transmit(s.packet);
    }
    let t = next < queue.length ? queue[next]!.at : Infinity;
    for (const device of receivers) t = Math.min(t, device.pollAt?.() ?? Infinity);
    if (t === Infinity) return arrivals;
    clock.advanceTo(t);
  }
  throw new Error("simulate: step limit reached");
}

/** Number of bits that differ between two equally long packets. */
export function bitDistance(x: Uint8Array, y: Uint8Array): number {
  if (x.length !== y.length) throw new Error(`lengths differ: ${x.length} vs ${y.length}`);
  let bits = 0;
  for (let i = 0; i < x.length; i++) {
    let d = x[i]! ^ y[i]!;
    while (d) {
      bits += d & 1;
      d >>= 1;
    }
  }
  return bits;
}
