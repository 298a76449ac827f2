import type { Random } from "../../random.js";

/**
 * Flips one uniformly chosen bit of `packet` in place (corruption that a
 * checksum catches). Returns false, changing nothing, for an empty packet.
 * @internal
 */
export function flipRandomBit(packet: Uint8Array, rng: Random): boolean {
  if (packet.length === 0) return false;
  const bit = rng.int(packet.length * 8);
  packet[bit >> 3] ^= 1 << (bit & 7);
  return true;
}
