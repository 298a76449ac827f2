/**
 * UDP (RFC 768): a view over a datagram and a header builder. The checksum
 * covers a pseudo-header (RFC 768; RFC 8200 §8.1 for IPv6), the header and
 * the data.
 *
 * ```
 * |          Source Port          |       Destination Port        |
 * |            Length             |           Checksum            |
 * ```
 */
import { get16, set16 } from "./bytes.js";
import { finishChecksum, onesSum, pseudoHeaderSum } from "./checksum.js";
import { IpProtocol } from "./ip.js";
import { type Checked, OK, fail } from "./result.js";

/** Length of the UDP header. */
export const UDP_HEADER = 8;

/** Why a UDP datagram was rejected. */
export type UdpReason =
  /** Shorter than 8 bytes or than its Length field. */
  | "truncated"
  /** Length below the 8-byte header. */
  | "bad-length"
  /** A zero checksum over IPv6, where it is mandatory (RFC 8200 §8.1). */
  | "missing-checksum"
  /** The checksum does not verify. */
  | "bad-checksum";

/** The result of {@link UdpPacket.check}. */
export type UdpCheck = Checked<UdpReason>;

/**
 * A view over a UDP datagram: `buffer` is the IP payload (bytes past the
 * Length field are ignored). Reads before a check never throw.
 */
export class UdpPacket {
  constructor(public buffer: Uint8Array = new Uint8Array(0)) {}

  /** Points the view at another datagram. */
  reset(buffer: Uint8Array): this {
    this.buffer = buffer;
    return this;
  }

  get srcPort(): number {
    return get16(this.buffer, 0);
  }
  set srcPort(v: number) {
    set16(this.buffer, 0, v);
  }
  get dstPort(): number {
    return get16(this.buffer, 2);
  }
  set dstPort(v: number) {
    set16(this.buffer, 2, v);
  }
  /** Header plus data, in bytes. */
  get length(): number {
    return get16(this.buffer, 4);
  }
  set length(v: number) {
    set16(this.buffer, 4, v);
  }
  /** The checksum field; 0 means "none" (IPv4 only). */
  get checksum(): number {
    return get16(this.buffer, 6);
  }
  set checksum(v: number) {
    set16(this.buffer, 6, v);
  }
  /** The data, up to Length. */
  get payload(): Uint8Array {
    return this.buffer.subarray(UDP_HEADER, this.length);
  }

  /**
   * Whether the checksum verifies for a datagram from `src` to `dst` (4- or
   * 16-byte addresses). A zero field (no checksum) is not verified here.
   */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const n = this.length;
    return onesSum(this.buffer, pseudoHeaderSum(src, dst, IpProtocol.Udp, n), n) === 0xffff;
  }
  /**
   * Computes and stores the checksum from `src` to `dst`; a computed 0 is
   * sent as 0xffff, since 0 means "no checksum" (RFC 768).
   */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    const n = this.length;
    this.checksum = 0;
    this.checksum = finishChecksum(onesSum(this.buffer, pseudoHeaderSum(src, dst, IpProtocol.Udp, n), n)) || 0xffff;
  }

  /**
   * Validates the Length field against the header and the buffer, then the
   * checksum: optional over IPv4 (RFC 768), mandatory over IPv6 (RFC 8200
   * §8.1); the family is that of `src` (4 or 16 bytes). Never throws.
   * `checksumVerified`: the device already verified a present checksum
   * (checksum offload, Linux CHECKSUM_UNNECESSARY), so it is not summed again.
   */
  check(src: Uint8Array, dst: Uint8Array, checksumVerified = false): UdpCheck {
    const b = this.buffer;
    if (b.length < UDP_HEADER) return fail("truncated");
    const n = this.length;
    if (n < UDP_HEADER) return fail("bad-length");
    if (b.length < n) return fail("truncated");
    if (this.checksum === 0) return src.length === 16 ? fail("missing-checksum") : OK;
    return checksumVerified || this.verifyChecksum(src, dst) ? OK : fail("bad-checksum");
  }
}

/** What {@link emitUdp} writes. */
export interface UdpHeader {
  srcPort: number;
  dstPort: number;
}

const scratch = new UdpPacket();

/**
 * Writes a UDP header and checksum at the start of `buf`, whose
 * `[8..8+payloadLength)` already holds the data, for a datagram from `src` to
 * `dst`; returns the datagram length. Throws `RangeError` when it does not
 * fit the buffer or the 16-bit Length.
 */
export function emitUdp(buf: Uint8Array, h: UdpHeader, payloadLength: number, src: Uint8Array, dst: Uint8Array): number {
  const n = UDP_HEADER + payloadLength;
  if (payloadLength < 0 || n > 0xffff || buf.length < n) throw new RangeError(`cannot write a ${n}-byte UDP datagram in ${buf.length} bytes`);
  const u = scratch.reset(buf);
  u.srcPort = h.srcPort;
  u.dstPort = h.dstPort;
  u.length = n;
  u.fillChecksum(src, dst);
  return n;
}
