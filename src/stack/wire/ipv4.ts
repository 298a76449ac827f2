/**
 * IPv4 (RFC 791 §3.1): a view over a datagram and a header builder.
 *
 * ```
 *  0       4       8              16    19                       31
 * |Version|  IHL  | DSCP     |ECN|          Total Length           |
 * |         Identification         |Flags|    Fragment Offset      |
 * |  Time to Live |    Protocol    |        Header Checksum        |
 * |                         Source Address                         |
 * |                      Destination Address                       |
 * |                    Options (IHL > 5) ...                       |
 * ```
 */
import { get16, get8, set16, setBytes } from "./bytes.js";
import { finishChecksum, onesSum } from "./checksum.js";
import { OptionWalker } from "./options.js";
import { type Checked, OK, fail } from "./result.js";

/** Length of a header without options. */
export const IPV4_MIN_HEADER = 20;
/** Largest header: IHL 15. */
export const IPV4_MAX_HEADER = 60;
const DF = 0x4000;
const MF = 0x2000;

/** Why an IPv4 datagram was rejected. */
export type Ipv4Reason =
  /** Shorter than 20 bytes, than its header, or than its Total Length. */
  | "truncated"
  /** Version is not 4. */
  | "bad-version"
  /** IHL below 5 (RFC 791 §3.1: the minimum is 5 words). */
  | "bad-header-length"
  /** The header checksum does not verify (RFC 791 §3.1, RFC 1071). */
  | "bad-checksum"
  /** Total Length smaller than the header. */
  | "bad-total-length"
  /** An option whose length byte is missing, below 2 or past the header. */
  | "bad-options"
  /** Fragment Offset plus data reaches past 65,535 bytes. */
  | "bad-fragment";

/** The result of {@link Ipv4Packet.check}. */
export type Ipv4Check = Checked<Ipv4Reason>;

const walker = new OptionWalker();

/**
 * A view over an IPv4 datagram in `buffer` (the datagram starts at index 0;
 * bytes past Total Length, such as link padding, are ignored). Getters and
 * setters read and write the bytes in place. Call {@link check} before
 * trusting the getters; reads before that never throw but may be garbage.
 */
export class Ipv4Packet {
  constructor(public buffer: Uint8Array = new Uint8Array(0)) {}

  /** Points the view at another datagram (reuse one view per stack). */
  reset(buffer: Uint8Array): this {
    this.buffer = buffer;
    return this;
  }

  get version(): number {
    return this.buffer[0] >>> 4;
  }
  /** Header length in bytes (IHL × 4). */
  get headerLength(): number {
    return (this.buffer[0] & 0x0f) * 4;
  }
  /** Sets Version to 4 and IHL to `bytes / 4` (`bytes` a multiple of 4 in 20..60). */
  set headerLength(bytes: number) {
    this.buffer[0] = 0x40 | ((bytes >>> 2) & 0x0f);
  }
  /** Differentiated Services Code Point (RFC 2474). */
  get dscp(): number {
    return this.buffer[1] >>> 2;
  }
  set dscp(v: number) {
    this.buffer[1] = ((v & 0x3f) << 2) | (this.buffer[1] & 3);
  }
  /** Explicit Congestion Notification (RFC 3168). */
  get ecn(): number {
    return this.buffer[1] & 3;
  }
  set ecn(v: number) {
    this.buffer[1] = (this.buffer[1] & 0xfc) | (v & 3);
  }
  /** Header plus data, in bytes. */
  get totalLength(): number {
    return get16(this.buffer, 2);
  }
  set totalLength(v: number) {
    set16(this.buffer, 2, v);
  }
  get identification(): number {
    return get16(this.buffer, 4);
  }
  set identification(v: number) {
    set16(this.buffer, 4, v);
  }
  /** The DF (Don't Fragment) flag. */
  get dontFragment(): boolean {
    return (get16(this.buffer, 6) & DF) !== 0;
  }
  set dontFragment(v: boolean) {
    set16(this.buffer, 6, (get16(this.buffer, 6) & ~DF) | (v ? DF : 0));
  }
  /** The MF (More Fragments) flag. */
  get moreFragments(): boolean {
    return (get16(this.buffer, 6) & MF) !== 0;
  }
  set moreFragments(v: boolean) {
    set16(this.buffer, 6, (get16(this.buffer, 6) & ~MF) | (v ? MF : 0));
  }
  /** Fragment Offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (get16(this.buffer, 6) & 0x1fff) * 8;
  }
  /** Sets Fragment Offset from a byte offset (a multiple of 8). */
  set fragmentOffset(bytes: number) {
    set16(this.buffer, 6, (get16(this.buffer, 6) & 0xe000) | ((bytes >>> 3) & 0x1fff));
  }
  /** Whether this datagram is a fragment (MF set or a non-zero offset). */
  get isFragment(): boolean {
    return (get16(this.buffer, 6) & (MF | 0x1fff)) !== 0;
  }
  get ttl(): number {
    return get8(this.buffer, 8);
  }
  set ttl(v: number) {
    this.buffer[8] = v;
  }
  /** The upper-layer protocol (see `IpProtocol`). */
  get protocol(): number {
    return get8(this.buffer, 9);
  }
  set protocol(v: number) {
    this.buffer[9] = v;
  }
  get checksum(): number {
    return get16(this.buffer, 10);
  }
  set checksum(v: number) {
    set16(this.buffer, 10, v);
  }
  /** Source address: a 4-byte view into the datagram. */
  get src(): Uint8Array {
    return this.buffer.subarray(12, 16);
  }
  set src(a: Uint8Array) {
    setBytes(this.buffer, 12, a, 4);
  }
  /** Destination address: a 4-byte view into the datagram. */
  get dst(): Uint8Array {
    return this.buffer.subarray(16, 20);
  }
  set dst(a: Uint8Array) {
    setBytes(this.buffer, 16, a, 4);
  }
  /** The options area (empty when IHL is 5). */
  get options(): Uint8Array {
    return this.buffer.subarray(IPV4_MIN_HEADER, this.headerLength);
  }
  /** The data after the header, up to Total Length (or the buffer's end if shorter). */
  get payload(): Uint8Array {
    return this.buffer.subarray(this.headerLength, this.totalLength);
  }

  /** Whether the header checksum verifies. */
  verifyChecksum(): boolean {
    return onesSum(this.buffer, 0, this.headerLength) === 0xffff;
  }
  /** Computes and stores the header checksum. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = finishChecksum(onesSum(this.buffer, 0, this.headerLength));
  }

  /**
   * Validates the datagram, in the order a receiver applies (RFC 1122
   * §3.2.1.1-2): length, version, IHL, header checksum, Total Length against
   * header and buffer, option lengths, and that a fragment ends within 65,535
   * bytes. Never throws.
   */
  check(): Ipv4Check {
    const r = this.checkHeader();
    if (r !== OK) return r;
    if (!this.verifyChecksum()) return fail("bad-checksum");
    const total = this.totalLength;
    if (total < this.headerLength) return fail("bad-total-length");
    if (this.buffer.length < total) return fail("truncated");
    if (this.fragmentOffset + total - this.headerLength > 0xffff) return fail("bad-fragment");
    return OK;
  }

  /**
   * Validates a datagram quoted in an ICMP error (RFC 792, RFC 1812
   * §4.3.2.3): the header must be whole and well-formed, but the data may be
   * cut short and the checksum is not verified (a middlebox may have
   * rewritten the quote). Never throws.
   */
  checkQuoted(): Ipv4Check {
    const r = this.checkHeader();
    if (r !== OK) return r;
    return this.totalLength < this.headerLength ? fail("bad-total-length") : OK;
  }

  /** Length, version, IHL and option checks shared by both checks. */
  private checkHeader(): Ipv4Check {
    const b = this.buffer;
    if (b.length < IPV4_MIN_HEADER) return fail("truncated");
    if (this.version !== 4) return fail("bad-version");
    const hl = this.headerLength;
    if (hl < IPV4_MIN_HEADER) return fail("bad-header-length");
    if (b.length < hl) return fail("truncated");
    walker.reset(b, IPV4_MIN_HEADER, hl);
    while (walker.next());
    return walker.malformed ? fail("bad-options") : OK;
  }
}

/** What {@link emitIpv4} writes. */
export interface Ipv4Header {
  src: Uint8Array;
  dst: Uint8Array;
  /** Upper-layer protocol (see `IpProtocol`). */
  protocol: number;
  /** Bytes of data after the header. */
  payloadLength: number;
  /** Default 64. */
  ttl?: number;
  /** Default 0. */
  identification?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Byte offset of this fragment's data, a multiple of 8; default 0. */
  fragmentOffset?: number;
  dscp?: number;
  ecn?: number;
  /** Raw option bytes (RFC 791 §3.1); padded with End of Option List to a multiple of 4. */
  options?: Uint8Array;
}

/**
 * Writes the common IPv4 header, checksum included, at the start of `buf`: 20
 * bytes (no options), DSCP and ECN 0, not a fragment, DF as given; the data
 * goes at `buf[20..]`. The same bytes as {@link emitIpv4} with those fields,
 * without a header object (the per-packet fast path).
 */
export function emitIpv4Header(
  buf: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  payloadLength: number,
  ttl: number,
  identification: number,
  dontFragment = false,
): number {
  const total = IPV4_MIN_HEADER + payloadLength;
  if (total > 0xffff) throw new RangeError(`IPv4 datagram too long: ${total} bytes`);
  if (src.length !== 4 || dst.length !== 4) throw new RangeError("IPv4 addresses are 4 bytes");
  buf[0] = 0x45;
  buf[1] = 0;
  set16(buf, 2, total);
  set16(buf, 4, identification);
  buf[6] = dontFragment ? 0x40 : 0;
  buf[7] = 0;
  buf[8] = ttl;
  buf[9] = protocol;
  buf[10] = 0;
  buf[11] = 0;
  buf[12] = src[0]!;
  buf[13] = src[1]!;
  buf[14] = src[2]!;
  buf[15] = src[3]!;
  buf[16] = dst[0]!;
  buf[17] = dst[1]!;
  buf[18] = dst[2]!;
  buf[19] = dst[3]!;
  set16(buf, 10, finishChecksum(onesSum(buf, 0, IPV4_MIN_HEADER)));
  return IPV4_MIN_HEADER;
}

/** The header length {@link emitIpv4} will write for these options. */
export function ipv4HeaderLength(options?: Uint8Array): number {
  const n = IPV4_MIN_HEADER + (((options?.length ?? 0) + 3) & ~3);
  if (n > IPV4_MAX_HEADER) throw new RangeError(`IPv4 options too long: ${options?.length} bytes (at most 40)`);
  return n;
}

const scratch = new Ipv4Packet();

/**
 * Writes an IPv4 header, checksum included, at the start of `buf` and returns
 * its length; the data goes at `buf[length..]`. Throws `RangeError` on
 * arguments no datagram can carry (a builder's inputs come from the stack,
 * not the wire).
 */
export function emitIpv4(buf: Uint8Array, h: Ipv4Header): number {
  const hl = ipv4HeaderLength(h.options);
  const total = hl + h.payloadLength;
  if (total > 0xffff) throw new RangeError(`IPv4 datagram too long: ${total} bytes`);
  if (buf.length < hl) throw new RangeError(`buffer of ${buf.length} bytes cannot hold a ${hl}-byte IPv4 header`);
  const fo = h.fragmentOffset ?? 0;
  if (fo % 8 !== 0 || fo > 0xfff8) throw new RangeError(`IPv4 fragment offset must be a multiple of 8 up to 65528, got ${fo}`);
  const p = scratch.reset(buf);
  buf.fill(0, 0, hl);
  p.headerLength = hl;
  p.dscp = h.dscp ?? 0;
  p.ecn = h.ecn ?? 0;
  p.totalLength = total;
  p.identification = h.identification ?? 0;
  p.dontFragment = h.dontFragment ?? false;
  p.moreFragments = h.moreFragments ?? false;
  p.fragmentOffset = fo;
  p.ttl = h.ttl ?? 64;
  p.protocol = h.protocol;
  p.src = h.src;
  p.dst = h.dst;
  if (h.options) buf.set(h.options, IPV4_MIN_HEADER);
  p.fillChecksum();
  return hl;
}
