import type { Clock } from "../../poll/clock.js";

/**
 * Where a stack sends and receives IP packets (no link-layer header: raw IPv4
 * or IPv6, like a TUN device). Implemented by `Link` ends, `Loopback`,
 * `TunDevice`, and middleware that wraps another device.
 */
export interface Device {
  /** The largest IP packet the device carries, in bytes. */
  readonly mtu: number;
  /**
   * The next received packet, or null when none is waiting. The bytes stay
   * valid until the next call to `receive`.
   */
  receive(): Uint8Array | null;
  /** Sends one packet. The device copies what it keeps: the caller may reuse `packet`. */
  transmit(packet: Uint8Array): void;
  /**
   * The TCP and UDP checksums of received packets are known to be good
   * (checksum offload: Linux's CHECKSUM_UNNECESSARY, which a veth pair sets on
   * packets from the local stack), so the stack does not sum them again. The
   * IPv4 header checksum is still verified, as Linux does. Checksums of sent
   * packets are always computed. It may change from packet to packet (a TUN
   * device with offloads vouches only for what the kernel handed over
   * unfinished): read it right after {@link receive}.
   */
  readonly checksumsVerified?: boolean;
  /** A descriptor that turns readable when packets wait (kernel-backed devices). */
  readonly fd?: number;
  /** Gives the device the clock of the stack it is attached to (timed devices need it). */
  attach?(clock: Clock): void;
  /** When (on the attached clock, ms) the device next has a packet to receive, or null. */
  pollAt?(): number | null;
}
