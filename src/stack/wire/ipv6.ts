/**
 * IPv6 (RFC 8200 §3): a view over a packet that walks its extension headers
 * (§4) to the upper-layer header, and a fixed-header builder.
 *
 * ```
 *  0       4               12                                      31
 * |Version| Traffic Class |              Flow Label                  |
 * |         Payload Length          |  Next Header  |   Hop Limit    |
 * |                  Source Address (16 bytes)                       |
 * |                Destination Address (16 bytes)                    |
 * ```
 */
import { get16, get32, get8, set16, setBytes } from "./bytes.js";
import { IpProtocol } from "./ip.js";
import { IPV6_FRAGMENT_HEADER, extensionLength, isExtensionHeader, validOptions } from "./ipv6-ext.js";
import { type Checked, OK, fail } from "./result.js";

/** Length of the fixed header. */
export const IPV6_HEADER = 40;

/** Why an IPv6 packet was rejected. */
export type Ipv6Reason =
  /** Shorter than 40 bytes or than 40 + Payload Length. */
  | "truncated"
  /** Version is not 6. */
  | "bad-version"
  /** An extension header runs past the end of the payload. */
  | "bad-extension-length"
  /** A Hop-by-Hop Options header not right after the fixed header (RFC 8200 §4.1). */
  | "misplaced-hop-by-hop"
  /** Hop-by-Hop or Destination options that do not exactly fill their header (§4.2). */
  | "bad-options"
  /** A fragment with M set whose length is not a multiple of 8, or that ends past 65,535 (§4.5). */
  | "bad-fragment";

/** The result of {@link Ipv6Packet.check}. */
export type Ipv6Check = Checked<Ipv6Reason>;

/**
 * A view over an IPv6 packet in `buffer` (starting at index 0; bytes past
 * 40 + Payload Length are ignored). Fixed-header getters and setters work in
 * place at any time; the extension-header results ({@link upperProtocol},
 * {@link upperOffset}, the fragment fields) are set by {@link check}.
 */
export class Ipv6Packet {
  #upperProtocol = 0;
  #upperOffset = IPV6_HEADER;
  #fragment = -1;
  #fragmentLink = -1;

  constructor(public buffer: Uint8Array = new Uint8Array(0)) {}

  /** Points the view at another packet; run {@link check} again. */
  reset(buffer: Uint8Array): this {
    this.buffer = buffer;
    this.#fragment = -1;
    this.#fragmentLink = -1;
    return this;
  }

  get version(): number {
    return this.buffer[0] >>> 4;
  }
  get trafficClass(): number {
    return (get16(this.buffer, 0) >>> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const b = this.buffer;
    b[0] = 0x60 | ((v >>> 4) & 0x0f);
    b[1] = ((v & 0x0f) << 4) | (b[1] & 0x0f);
  }
  /** The 20-bit flow label (RFC 6437). */
  get flowLabel(): number {
    return get32(this.buffer, 0) & 0xfffff;
  }
  set flowLabel(v: number) {
    const b = this.buffer;
    b[1] = (b[1] & 0xf0) | ((v >>> 16) & 0x0f);
    set16(b, 2, v);
  }
  /** Bytes after the fixed header, extension headers included. */
  get payloadLength(): number {
    return get16(this.buffer, 4);
  }
  set payloadLength(v: number) {
    set16(this.buffer, 4, v);
  }
  /** The header after the fixed header (an extension header or the upper layer). */
  get nextHeader(): number {
    return get8(this.buffer, 6);
  }
  set nextHeader(v: number) {
    this.buffer[6] = v;
  }
  get hopLimit(): number {
    return get8(this.buffer, 7);
  }
  set hopLimit(v: number) {
    this.buffer[7] = v;
  }
  /** Source address: a 16-byte view into the packet. */
  get src(): Uint8Array {
    return this.buffer.subarray(8, 24);
  }
  set src(a: Uint8Array) {
    setBytes(this.buffer, 8, a, 16);
  }
  /** Destination address: a 16-byte view into the packet. */
  get dst(): Uint8Array {
    return this.buffer.subarray(24, 40);
  }
  set dst(a: Uint8Array) {
    setBytes(this.buffer, 24, a, 16);
  }
  /** Everything after the fixed header, up to Payload Length. */
  get payload(): Uint8Array {
    return this.buffer.subarray(IPV6_HEADER, IPV6_HEADER + this.payloadLength);
  }

  /**
   * After {@link check}: the protocol after the extension headers (TCP, UDP,
   * ICMPv6, ESP, No Next Header, …). When a Fragment header is present the
   * walk stops there (what follows is fragment data until reassembly, RFC
   * 8200 §4.5) and this is the Fragment header's Next Header.
   */
  get upperProtocol(): number {
    return this.#upperProtocol;
  }
  /** After {@link check}: offset of the upper-layer header (or fragment data). */
  get upperOffset(): number {
    return this.#upperOffset;
  }
  /** After {@link check}: the bytes from {@link upperOffset} to the payload's end. */
  get upperPayload(): Uint8Array {
    return this.buffer.subarray(this.#upperOffset, IPV6_HEADER + this.payloadLength);
  }
  /** After {@link check}: offset of the Fragment header, or -1 when there is none. */
  get fragmentHeaderOffset(): number {
    return this.#fragment;
  }
  /**
   * After {@link check}: offset of the Next Header byte that names the
   * Fragment header (6 when it follows the fixed header), or -1. Reassembly
   * writes the Fragment header's Next Header there (RFC 8200 §4.5).
   */
  get fragmentLinkOffset(): number {
    return this.#fragmentLink;
  }
  /** Fragment Offset in bytes; 0 without a Fragment header. */
  get fragmentOffset(): number {
    return this.#fragment < 0 ? 0 : get16(this.buffer, this.#fragment + 2) & 0xfff8;
  }
  /** The Fragment header's M flag; false without one. */
  get moreFragments(): boolean {
    return this.#fragment >= 0 && (this.buffer[this.#fragment + 3] & 1) === 1;
  }
  /** The Fragment header's Identification; 0 without one. */
  get fragmentIdentification(): number {
    return this.#fragment < 0 ? 0 : get32(this.buffer, this.#fragment + 4);
  }

  /**
   * Validates the packet and walks its extension headers (RFC 8200 §4):
   * version, lengths, Hop-by-Hop placement, option lists, each header within
   * the payload, and a fragment's length (§4.5). Never throws.
   */
  check(): Ipv6Check {
    const b = this.buffer;
    if (b.length < IPV6_HEADER) return fail("truncated");
    if (this.version !== 6) return fail("bad-version");
    const end = IPV6_HEADER + this.payloadLength;
    if (b.length < end) return fail("truncated");
    const r = this.walk(end, end);
    if (r !== OK || this.#fragment < 0) return r;
    const data = end - this.#upperOffset;
    if ((this.moreFragments && data % 8 !== 0) || this.fragmentOffset + data > 0xffff) return fail("bad-fragment");
    return OK;
  }

  /**
   * Validates a packet quoted in an ICMPv6 error (RFC 4443 §2.4(c)): the
   * packet may be cut short, so headers are walked as far as the bytes go;
   * one cut in the middle gives "truncated". Never throws.
   */
  checkQuoted(): Ipv6Check {
    const b = this.buffer;
    if (b.length < IPV6_HEADER) return fail("truncated");
    if (this.version !== 6) return fail("bad-version");
    const end = IPV6_HEADER + this.payloadLength;
    return this.walk(end, Math.min(end, b.length));
  }

  /** Walks extension headers within the payload ending at `end`, of which `avail` bytes are present. */
  private walk(end: number, avail: number): Ipv6Check {
    const b = this.buffer;
    this.#fragment = -1;
    this.#fragmentLink = -1;
    let link = 6;
    let off = IPV6_HEADER;
    let next = b[link];
    for (;;) {
      if (next === IpProtocol.HopByHop && off !== IPV6_HEADER) return fail("misplaced-hop-by-hop");
      if (!isExtensionHeader(next)) break;
      if (off + 2 > end) return fail("bad-extension-length");
      if (off + 2 > avail) return fail("truncated");
      const len = extensionLength(b, off, next);
      if (off + len > end) return fail("bad-extension-length");
      if (off + len > avail) return fail("truncated");
      if ((next === IpProtocol.HopByHop || next === IpProtocol.Ipv6Opts) && !validOptions(b, off + 2, off + len)) {
        return fail("bad-options");
      }
      if (next === IpProtocol.Ipv6Frag) {
        this.#fragment = off;
        this.#fragmentLink = link;
        next = b[off];
        off += IPV6_FRAGMENT_HEADER;
        break;
      }
      link = off;
      next = b[off];
      off += len;
    }
    this.#upperProtocol = next;
    this.#upperOffset = off;
    return OK;
  }
}

/** What {@link emitIpv6} writes. */
export interface Ipv6Header {
  src: Uint8Array;
  dst: Uint8Array;
  /** The first extension header or the upper-layer protocol (see `IpProtocol`). */
  nextHeader: number;
  /** Bytes after the fixed header. */
  payloadLength: number;
  /** Default 64. */
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
}

const scratch = new Ipv6Packet();

/**
 * Writes the 40-byte fixed header at the start of `buf` and returns 40; the
 * payload goes at `buf[40..]`. Throws `RangeError` when the buffer is too
 * short or the payload longer than 65,535 bytes.
 */
export function emitIpv6(buf: Uint8Array, h: Ipv6Header): number {
  if (buf.length < IPV6_HEADER) throw new RangeError(`buffer of ${buf.length} bytes cannot hold an IPv6 header`);
  if (h.payloadLength < 0 || h.payloadLength > 0xffff) throw new RangeError(`IPv6 payload length out of range: ${h.payloadLength}`);
  const p = scratch.reset(buf);
  buf[1] = 0;
  p.trafficClass = h.trafficClass ?? 0;
  p.flowLabel = h.flowLabel ?? 0;
  p.payloadLength = h.payloadLength;
  p.nextHeader = h.nextHeader;
  p.hopLimit = h.hopLimit ?? 64;
  p.src = h.src;
  p.dst = h.dst;
  return IPV6_HEADER;
}
