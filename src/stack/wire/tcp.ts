/**
 * TCP (RFC 9293 §3.1): a view over a segment that parses every option, and a
 * header builder. The checksum covers a pseudo-header (RFC 9293 §3.1; RFC
 * 8200 §8.1 for IPv6), the header and the data.
 *
 * ```
 * |          Source Port          |       Destination Port        |
 * |                        Sequence Number                        |
 * |                    Acknowledgment Number                      |
 * | Offset| Rsrvd |C|E|U|A|P|R|S|F|            Window             |
 * |           Checksum            |         Urgent Pointer        |
 * |                     Options (offset > 5) ...                  |
 * ```
 */
import { get16, get32, get8, set16, set32 } from "./bytes.js";
import { finishChecksum, onesSum, pseudoHeaderSum } from "./checksum.js";
import { IpProtocol } from "./ip.js";
import { OptionWalker } from "./options.js";
import { type Checked, OK, fail } from "./result.js";
import { TcpOptionKind, type TcpOptions, tcpOptionsLength, writeTcpOptions } from "./tcp-options.js";

/** Length of a header without options. */
export const TCP_MIN_HEADER = 20;

/** TCP control bits (RFC 9293 §3.1; CWR and ECE from RFC 3168). */
export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Why a TCP segment was rejected. */
export type TcpReason =
  /** Shorter than 20 bytes or than its Data Offset. */
  | "truncated"
  /** Data Offset below 5 words. */
  | "bad-header-length"
  /** The checksum does not verify. */
  | "bad-checksum"
  /**
   * An option whose length byte is missing, below 2 or past the header, or a
   * known option with the wrong length (MSS 4, Window Scale 3, SACK-Permitted
   * 2, SACK 2 + 8n with n ≥ 1, Timestamps 10).
   */
  | "bad-options";

/** The result of {@link TcpPacket.check}. */
export type TcpCheck = Checked<TcpReason>;

const walker = new OptionWalker();

/**
 * A view over a TCP segment: `buffer` is exactly the IP payload (its length is
 * the segment length). Header getters and setters work in place at any time;
 * the option getters are set by {@link check} (a later option of the same
 * kind wins; unknown options are skipped by their length).
 */
export class TcpPacket {
  #mss = -1;
  #windowScale = -1;
  #sackPermitted = false;
  #timestamps = -1;
  #sack = -1;
  #sackCount = 0;

  #buffer: Uint8Array;
  /** the payload view, made on first use after a reset (several readers per segment) */
  #payload: Uint8Array | null = null;

  constructor(buffer: Uint8Array = new Uint8Array(0)) {
    this.#buffer = buffer;
  }

  /** The segment's bytes. */
  get buffer(): Uint8Array {
    return this.#buffer;
  }
  set buffer(b: Uint8Array) {
    this.#buffer = b;
    this.#payload = null;
  }

  /** Points the view at another segment; run {@link check} again. */
  reset(buffer: Uint8Array): this {
    this.#buffer = buffer;
    this.#payload = null;
    this.clearOptions();
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
  /** Sequence Number (unsigned 32-bit). */
  get seqNumber(): number {
    return get32(this.buffer, 4);
  }
  set seqNumber(v: number) {
    set32(this.buffer, 4, v);
  }
  /** Acknowledgment Number (unsigned 32-bit). */
  get ackNumber(): number {
    return get32(this.buffer, 8);
  }
  set ackNumber(v: number) {
    set32(this.buffer, 8, v);
  }
  /** Header length in bytes (Data Offset × 4). */
  get headerLength(): number {
    return (this.buffer[12] >>> 4) * 4;
  }
  /** Sets Data Offset to `bytes / 4` (a multiple of 4 in 20..60) and clears the reserved bits. */
  set headerLength(bytes: number) {
    this.buffer[12] = ((bytes >>> 2) & 0x0f) << 4;
    this.#payload = null;
  }
  /** The control bits byte; see {@link TcpFlags}. */
  get flags(): number {
    return get8(this.buffer, 13);
  }
  set flags(v: number) {
    this.buffer[13] = v;
  }
  get fin(): boolean {
    return (this.buffer[13] & TcpFlags.FIN) !== 0;
  }
  get syn(): boolean {
    return (this.buffer[13] & TcpFlags.SYN) !== 0;
  }
  get rst(): boolean {
    return (this.buffer[13] & TcpFlags.RST) !== 0;
  }
  get psh(): boolean {
    return (this.buffer[13] & TcpFlags.PSH) !== 0;
  }
  get ack(): boolean {
    return (this.buffer[13] & TcpFlags.ACK) !== 0;
  }
  get urg(): boolean {
    return (this.buffer[13] & TcpFlags.URG) !== 0;
  }
  get ece(): boolean {
    return (this.buffer[13] & TcpFlags.ECE) !== 0;
  }
  get cwr(): boolean {
    return (this.buffer[13] & TcpFlags.CWR) !== 0;
  }
  /** Window (unscaled). */
  get window(): number {
    return get16(this.buffer, 14);
  }
  set window(v: number) {
    set16(this.buffer, 14, v);
  }
  get checksum(): number {
    return get16(this.buffer, 16);
  }
  set checksum(v: number) {
    set16(this.buffer, 16, v);
  }
  get urgentPointer(): number {
    return get16(this.buffer, 18);
  }
  set urgentPointer(v: number) {
    set16(this.buffer, 18, v);
  }
  /** The raw options area. */
  get options(): Uint8Array {
    return this.buffer.subarray(TCP_MIN_HEADER, this.headerLength);
  }
  /** The data after the header (one view per segment: do not modify the header length through the bytes meanwhile). */
  get payload(): Uint8Array {
    return (this.#payload ??= this.buffer.subarray(this.headerLength));
  }

  /** After {@link check}: the MSS option's value, or -1 when absent. */
  get mss(): number {
    return this.#mss < 0 ? -1 : get16(this.buffer, this.#mss);
  }
  /** After {@link check}: the Window Scale shift as sent (RFC 7323 §2.3 caps its use at 14), or -1. */
  get windowScale(): number {
    return this.#windowScale < 0 ? -1 : this.buffer[this.#windowScale];
  }
  /** After {@link check}: whether SACK-Permitted was present. */
  get sackPermitted(): boolean {
    return this.#sackPermitted;
  }
  /** After {@link check}: whether a Timestamps option was present. */
  get hasTimestamps(): boolean {
    return this.#timestamps >= 0;
  }
  /** After {@link check}: TSval, or 0 without timestamps. */
  get tsVal(): number {
    return this.#timestamps < 0 ? 0 : get32(this.buffer, this.#timestamps);
  }
  /** After {@link check}: TSecr, or 0 without timestamps. */
  get tsEcr(): number {
    return this.#timestamps < 0 ? 0 : get32(this.buffer, this.#timestamps + 4);
  }
  /** After {@link check}: the number of SACK blocks (0-4). */
  get sackCount(): number {
    return this.#sackCount;
  }
  /** Left edge of SACK block `i` (0 ≤ i < {@link sackCount}). */
  sackLeft(i: number): number {
    return get32(this.buffer, this.#sack + 8 * i);
  }
  /** Right edge of SACK block `i` (the first sequence number after it). */
  sackRight(i: number): number {
    return get32(this.buffer, this.#sack + 8 * i + 4);
  }

  /** Whether the checksum verifies for a segment from `src` to `dst` (4- or 16-byte addresses). */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const b = this.buffer;
    return onesSum(b, pseudoHeaderSum(src, dst, IpProtocol.Tcp, b.length)) === 0xffff;
  }
  /** Computes and stores the checksum from `src` to `dst`. */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    const b = this.buffer;
    this.checksum = 0;
    this.checksum = finishChecksum(onesSum(b, pseudoHeaderSum(src, dst, IpProtocol.Tcp, b.length)));
  }

  /**
   * Validates lengths, the checksum from `src` to `dst`, and every option
   * (RFC 9293 §3.1: kinds 0 and 1 are single bytes, all others carry a
   * length), recording the known ones for the option getters. Never throws.
   * `checksumVerified`: the device already verified the checksum (checksum
   * offload, Linux CHECKSUM_UNNECESSARY), so it is not summed again.
   */
  check(src: Uint8Array, dst: Uint8Array, checksumVerified = false): TcpCheck {
    const b = this.buffer;
    this.clearOptions();
    if (b.length < TCP_MIN_HEADER) return fail("truncated");
    const hl = this.headerLength;
    if (hl < TCP_MIN_HEADER) return fail("bad-header-length");
    if (b.length < hl) return fail("truncated");
    if (!checksumVerified && !this.verifyChecksum(src, dst)) return fail("bad-checksum");
    return this.parseOptions(hl) ? OK : fail("bad-options");
  }

  private clearOptions(): void {
    this.#mss = this.#windowScale = this.#timestamps = this.#sack = -1;
    this.#sackPermitted = false;
    this.#sackCount = 0;
  }

  /** Walks the options area, recording known options; false when malformed. */
  private parseOptions(hl: number): boolean {
    walker.reset(this.buffer, TCP_MIN_HEADER, hl);
    while (walker.next()) {
      const at = walker.data;
      const n = walker.dataLength;
      switch (walker.kind) {
        case TcpOptionKind.Mss:
          if (n !== 2) return false;
          this.#mss = at;
          break;
        case TcpOptionKind.WindowScale:
          if (n !== 1) return false;
          this.#windowScale = at;
          break;
        case TcpOptionKind.SackPermitted:
          if (n !== 0) return false;
          this.#sackPermitted = true;
          break;
        case TcpOptionKind.Sack:
          if (n === 0 || n % 8 !== 0) return false;
          this.#sack = at;
          this.#sackCount = n / 8;
          break;
        case TcpOptionKind.Timestamps:
          if (n !== 8) return false;
          this.#timestamps = at;
          break;
      }
    }
    return !walker.malformed;
  }
}

/** What {@link emitTcp} writes. */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seqNumber: number;
  ackNumber: number;
  /** Control bits; see {@link TcpFlags}. */
  flags: number;
  window: number;
  urgentPointer?: number;
  options?: TcpOptions;
}

/** The header length {@link emitTcp} writes for these options. */
export function tcpHeaderLength(options?: TcpOptions): number {
  return TCP_MIN_HEADER + tcpOptionsLength(options);
}

/**
 * Writes a TCP header (options included) and checksum at the start of `buf`,
 * whose `[headerLength..headerLength+payloadLength)` already holds the data
 * (see {@link tcpHeaderLength}), for a segment from `src` to `dst`; returns the
 * segment length. Throws `RangeError` when it does not fit.
 */
export function emitTcp(buf: Uint8Array, h: TcpHeader, payloadLength: number, src: Uint8Array, dst: Uint8Array): number {
  const hl = tcpHeaderLength(h.options);
  const n = hl + payloadLength;
  if (payloadLength < 0 || buf.length < n) throw new RangeError(`cannot write a ${n}-byte TCP segment in ${buf.length} bytes`);
  // written in place (no view object per segment), in the getters' layout
  set16(buf, 0, h.srcPort);
  set16(buf, 2, h.dstPort);
  set32(buf, 4, h.seqNumber);
  set32(buf, 8, h.ackNumber);
  buf[12] = ((hl >>> 2) & 0x0f) << 4;
  buf[13] = h.flags;
  set16(buf, 14, h.window);
  set16(buf, 16, 0);
  set16(buf, 18, h.urgentPointer ?? 0);
  if (h.options) writeTcpOptions(buf, TCP_MIN_HEADER, h.options);
  set16(buf, 16, finishChecksum(onesSum(buf, pseudoHeaderSum(src, dst, IpProtocol.Tcp, n), n)));
  return n;
}
