/**
 * The layout ICMPv4 (RFC 792) and ICMPv6 (RFC 4443 §2.1) share: type, code,
 * checksum, a 4-byte field whose meaning depends on the type, then the body
 * (echo data, or the invoking packet in an error message).
 *
 * ```
 * |     Type      |     Code      |          Checksum             |
 * |       Identifier / unused / MTU / pointer (4 bytes)           |
 * |                          Body ...                             |
 * ```
 */
import { get16, get32, get8, set16, set32 } from "./bytes.js";

/** Length of the ICMP header (type, code, checksum and the 4-byte field). */
export const ICMP_HEADER = 8;

/** What an ICMP builder writes in the 8-byte header. */
export interface IcmpHeader {
  type: number;
  /** Default 0. */
  code?: number;
  /** The 4 bytes after the checksum; see {@link echoRest}. Default 0. */
  rest?: number;
}

/** The 4-byte field of an echo request or reply: identifier, sequence number. */
export function echoRest(identifier: number, sequence: number): number {
  return (((identifier & 0xffff) << 16) | (sequence & 0xffff)) >>> 0;
}

/**
 * Fields common to both ICMP views; the buffer holds exactly one ICMP
 * message (the IP payload). Reads before a check never throw.
 */
export abstract class IcmpView {
  constructor(public buffer: Uint8Array = new Uint8Array(0)) {}

  /** Points the view at another message. */
  reset(buffer: Uint8Array): this {
    this.buffer = buffer;
    return this;
  }

  get type(): number {
    return get8(this.buffer, 0);
  }
  set type(v: number) {
    this.buffer[0] = v;
  }
  get code(): number {
    return get8(this.buffer, 1);
  }
  set code(v: number) {
    this.buffer[1] = v;
  }
  get checksum(): number {
    return get16(this.buffer, 2);
  }
  set checksum(v: number) {
    set16(this.buffer, 2, v);
  }
  /** The 4 bytes after the checksum, as one unsigned number. */
  get rest(): number {
    return get32(this.buffer, 4);
  }
  set rest(v: number) {
    set32(this.buffer, 4, v);
  }
  /** Echo Identifier (RFC 792 "Echo", RFC 4443 §4.1). */
  get identifier(): number {
    return get16(this.buffer, 4);
  }
  /** Echo Sequence Number. */
  get sequence(): number {
    return get16(this.buffer, 6);
  }
  /** What follows the header: echo data, or the invoking packet of an error. */
  get body(): Uint8Array {
    return this.buffer.subarray(ICMP_HEADER);
  }
}

/**
 * Writes `h` in the first 8 bytes of `buf` with a zero checksum and returns
 * the message length; `buf[8..8+bodyLength)` must hold the body.
 */
export function writeIcmpHeader(buf: Uint8Array, h: IcmpHeader, bodyLength: number): number {
  const n = ICMP_HEADER + bodyLength;
  if (bodyLength < 0 || buf.length < n) throw new RangeError(`buffer of ${buf.length} bytes cannot hold a ${n}-byte ICMP message`);
  buf[0] = h.type;
  buf[1] = h.code ?? 0;
  set16(buf, 2, 0);
  set32(buf, 4, h.rest ?? 0);
  return n;
}

/**
 * Copies as much of `invoking` into `buf[8..]` as fits in `buf` and in a
 * message of at most `maxMessage` bytes; returns the body length.
 */
export function copyInvoking(buf: Uint8Array, invoking: Uint8Array, maxMessage: number): number {
  const n = Math.max(0, Math.min(invoking.length, buf.length - ICMP_HEADER, maxMessage - ICMP_HEADER));
  buf.set(invoking.subarray(0, n), ICMP_HEADER);
  return n;
}
