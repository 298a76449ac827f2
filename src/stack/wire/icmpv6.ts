/**
 * ICMPv6 (RFC 4443): a view over a message and builders for echo and error
 * messages. The checksum covers the IPv6 pseudo-header (RFC 8200 §8.1) and
 * the message (RFC 4443 §2.3).
 */
import { finishChecksum, onesSum, pseudoHeaderSum } from "./checksum.js";
import { ICMP_HEADER, type IcmpHeader, IcmpView, copyInvoking, writeIcmpHeader } from "./icmp.js";
import { IpProtocol } from "./ip.js";
import { IPV6_HEADER } from "./ipv6.js";
import { type Checked, OK, fail } from "./result.js";

/** ICMPv6 message types (RFC 4443 §2.1): errors below 128, informational from 128. */
export const Icmpv6Type = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
} as const;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const Icmpv6Unreachable = {
  NoRoute: 0,
  AdminProhibited: 1,
  BeyondScope: 2,
  Address: 3,
  Port: 4,
  SourcePolicy: 5,
  RejectRoute: 6,
} as const;

/** Time Exceeded codes (RFC 4443 §3.3). */
export const Icmpv6TimeExceeded = {
  HopLimitExceeded: 0,
  FragmentReassembly: 1,
} as const;

/** Parameter Problem codes (RFC 4443 §3.4). */
export const Icmpv6ParameterProblem = {
  HeaderField: 0,
  UnrecognizedNextHeader: 1,
  UnrecognizedOption: 2,
} as const;

/** Largest error message: the packet stays within the IPv6 minimum MTU (RFC 4443 §2.4(c)). */
const MAX_ERROR_MESSAGE = 1280 - IPV6_HEADER;

/** Why an ICMPv6 message was rejected. */
export type Icmpv6Reason =
  /** Shorter than the 8-byte header. */
  | "truncated"
  /** The checksum over pseudo-header and message does not verify. */
  | "bad-checksum"
  /** An error message whose body does not start with an IPv6 header. */
  | "bad-invoking-packet";

/** The result of {@link Icmpv6Packet.check}. */
export type Icmpv6Check = Checked<Icmpv6Reason>;

/** A view over an ICMPv6 message (the upper-layer payload of an IPv6 packet). */
export class Icmpv6Packet extends IcmpView {
  /** Whether the type is an error message (type < 128, RFC 4443 §2.1). */
  get isError(): boolean {
    return this.type < 128;
  }
  /** Packet Too Big: the MTU of the next-hop link (RFC 4443 §3.2). */
  get mtu(): number {
    return this.rest;
  }
  /** Parameter Problem pointer: the offending byte offset in the invoking packet (§3.4). */
  get pointer(): number {
    return this.rest;
  }

  /** Whether the checksum verifies for a packet from `src` to `dst` (16-byte addresses). */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const b = this.buffer;
    return onesSum(b, pseudoHeaderSum(src, dst, IpProtocol.Icmpv6, b.length)) === 0xffff;
  }
  /** Computes and stores the checksum for a packet from `src` to `dst`. */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    const b = this.buffer;
    this.checksum = 0;
    this.checksum = finishChecksum(onesSum(b, pseudoHeaderSum(src, dst, IpProtocol.Icmpv6, b.length)));
  }

  /**
   * Validates length and checksum, and for an error message that the body
   * starts with a whole IPv6 header (RFC 4443 §2.4(c)). Never throws.
   */
  check(src: Uint8Array, dst: Uint8Array): Icmpv6Check {
    const b = this.buffer;
    if (b.length < ICMP_HEADER) return fail("truncated");
    if (!this.verifyChecksum(src, dst)) return fail("bad-checksum");
    if (this.isError && (b.length < ICMP_HEADER + IPV6_HEADER || b[ICMP_HEADER] >>> 4 !== 6)) {
      return fail("bad-invoking-packet");
    }
    return OK;
  }
}

/**
 * Writes an ICMPv6 header and checksum at the start of `buf`, whose
 * `[8..8+bodyLength)` already holds the body; returns the message length.
 */
export function emitIcmpv6(buf: Uint8Array, h: IcmpHeader, bodyLength: number, src: Uint8Array, dst: Uint8Array): number {
  const n = writeIcmpHeader(buf, h, bodyLength);
  scratch.reset(buf.subarray(0, n)).fillChecksum(src, dst);
  return n;
}

/**
 * Writes an error message quoting `invoking` (from its IPv6 header on), cut
 * to fit `buf` and the 1280-byte minimum MTU (RFC 4443 §2.4(c)); returns the
 * message length.
 */
export function emitIcmpv6Error(buf: Uint8Array, h: IcmpHeader, invoking: Uint8Array, src: Uint8Array, dst: Uint8Array): number {
  return emitIcmpv6(buf, h, copyInvoking(buf, invoking, MAX_ERROR_MESSAGE), src, dst);
}

const scratch = new Icmpv6Packet();
