/**
 * ICMPv4 (RFC 792): a view over a message and builders for echo and error
 * messages. The checksum covers the whole message (no pseudo-header).
 */
import { get8 } from "./bytes.js";
import { finishChecksum, onesSum } from "./checksum.js";
import { ICMP_HEADER, type IcmpHeader, IcmpView, copyInvoking, writeIcmpHeader } from "./icmp.js";
import { IPV4_MIN_HEADER } from "./ipv4.js";
import { type Checked, OK, fail } from "./result.js";

/** ICMPv4 message types (RFC 792). */
export const Icmpv4Type = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParameterProblem: 12,
} as const;

/** Destination Unreachable codes (RFC 792; 4 carries the next-hop MTU, RFC 1191; 6-15 RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const Icmpv4Unreachable = {
  Net: 0,
  Host: 1,
  Protocol: 2,
  Port: 3,
  FragmentationNeeded: 4,
  SourceRouteFailed: 5,
  NetUnknown: 6,
  HostUnknown: 7,
  SourceHostIsolated: 8,
  NetProhibited: 9,
  HostProhibited: 10,
  NetTos: 11,
  HostTos: 12,
  CommunicationProhibited: 13,
  HostPrecedenceViolation: 14,
  PrecedenceCutoff: 15,
} as const;

/** Time Exceeded codes (RFC 792). */
export const Icmpv4TimeExceeded = {
  TtlExceeded: 0,
  FragmentReassembly: 1,
} as const;

/** Largest error message: the reply datagram stays within 576 bytes (RFC 1812 §4.3.2.3). */
const MAX_ERROR_MESSAGE = 576 - IPV4_MIN_HEADER;

/** Why an ICMPv4 message was rejected. */
export type Icmpv4Reason =
  /** Shorter than the 8-byte header. */
  | "truncated"
  /** The checksum over the message does not verify. */
  | "bad-checksum"
  /** An error message whose body is not an IPv4 header plus 8 bytes (RFC 792). */
  | "bad-invoking-packet";

/** The result of {@link Icmpv4Packet.check}. */
export type Icmpv4Check = Checked<Icmpv4Reason>;

/** A view over an ICMPv4 message (the whole IPv4 payload). */
export class Icmpv4Packet extends IcmpView {
  /** Whether the type is an error message, whose body quotes the invoking datagram. */
  get isError(): boolean {
    const t = this.type;
    return (
      t === Icmpv4Type.DestinationUnreachable ||
      t === Icmpv4Type.SourceQuench ||
      t === Icmpv4Type.Redirect ||
      t === Icmpv4Type.TimeExceeded ||
      t === Icmpv4Type.ParameterProblem
    );
  }
  /** Next-hop MTU of a "fragmentation needed" Destination Unreachable (RFC 1191 §4). */
  get nextHopMtu(): number {
    return this.rest & 0xffff;
  }
  /** Parameter Problem pointer: the offending byte in the invoking header. */
  get pointer(): number {
    return get8(this.buffer, 4);
  }

  verifyChecksum(): boolean {
    return onesSum(this.buffer) === 0xffff;
  }
  /** Computes and stores the checksum over the whole buffer. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = finishChecksum(onesSum(this.buffer));
  }

  /**
   * Validates length and checksum, and for an error message that the body
   * holds the invoking datagram's IPv4 header and first 8 data bytes (RFC
   * 792), so the sending transport can be found. Never throws.
   */
  check(): Icmpv4Check {
    const b = this.buffer;
    if (b.length < ICMP_HEADER) return fail("truncated");
    if (!this.verifyChecksum()) return fail("bad-checksum");
    if (this.isError) {
      const q = ICMP_HEADER;
      const hl = (b[q] & 0x0f) * 4;
      if (b.length < q + IPV4_MIN_HEADER || b[q] >>> 4 !== 4 || hl < IPV4_MIN_HEADER || b.length < q + hl + 8) {
        return fail("bad-invoking-packet");
      }
    }
    return OK;
  }
}

/**
 * Writes an ICMPv4 header and checksum at the start of `buf`, whose
 * `[8..8+bodyLength)` already holds the body; returns the message length.
 */
export function emitIcmpv4(buf: Uint8Array, h: IcmpHeader, bodyLength: number): number {
  const n = writeIcmpHeader(buf, h, bodyLength);
  scratch.reset(buf.subarray(0, n)).fillChecksum();
  return n;
}

/**
 * Writes an error message quoting `invoking` (the datagram that caused it,
 * from its IPv4 header on), cut to fit `buf` and the 576-byte limit of RFC
 * 1812 §4.3.2.3; returns the message length.
 */
export function emitIcmpv4Error(buf: Uint8Array, h: IcmpHeader, invoking: Uint8Array): number {
  return emitIcmpv4(buf, h, copyInvoking(buf, invoking, MAX_ERROR_MESSAGE));
}

const scratch = new Icmpv4Packet();
