/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(4-tuple, secret),
 * where M is a timer ticking every 4 µs and F a keyed hash of the connection
 * identifiers, so sequence numbers of successive incarnations of a
 * connection move forward while different connections are unpredictable
 * (here: keyed by the stack's seed, so a simulation is reproducible).
 */
import type { Random } from "../../random.js";

export class IsnGenerator {
  private readonly key: number[];

  constructor(random: Random) {
    this.key = [random.u32(), random.u32(), random.u32(), random.u32()];
  }

  /** The ISN for a connection at time `nowMs`. */
  next(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, nowMs: number): number {
    let h = this.key[0]! ^ 0x9e3779b9;
    const mix = (v: number): void => {
      h = Math.imul(h ^ v, 0x85ebca6b);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    };
    for (const b of local) mix(b);
    for (const b of remote) mix(b);
    mix(localPort);
    mix(remotePort);
    mix(this.key[1]!);
    mix(this.key[2]!);
    mix(this.key[3]!);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const m = Math.floor(nowMs * 250);
    return (h + m) >>> 0;
  }
}
