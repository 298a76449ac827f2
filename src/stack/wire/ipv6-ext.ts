/**
 * IPv6 extension headers (RFC 8200 §4): their lengths, the option lists of
 * Hop-by-Hop and Destination Options headers, and the Fragment header
 * builder.
 */
import { set16, set32 } from "./bytes.js";
import { IpProtocol } from "./ip.js";

/** Length of a Fragment header (RFC 8200 §4.5). */
export const IPV6_FRAGMENT_HEADER = 8;

/**
 * Whether `kind` is an extension header that can be walked over to reach the
 * upper layer: Hop-by-Hop, Routing, Fragment, Destination Options (RFC 8200
 * §4) and the Authentication Header (RFC 4302). ESP is not: what follows it is
 * encrypted.
 */
export function isExtensionHeader(kind: number): boolean {
  return (
    kind === IpProtocol.HopByHop ||
    kind === IpProtocol.Ipv6Route ||
    kind === IpProtocol.Ipv6Frag ||
    kind === IpProtocol.Ipv6Opts ||
    kind === IpProtocol.Ah
  );
}

/**
 * The length in bytes of the extension header `kind` at `b[off]`, whose first
 * two bytes must be present: Hop-by-Hop, Routing and Destination Options
 * count 8-byte units after the first 8 (RFC 8200 §4.3, 4.4, 4.6), the
 * Authentication Header 4-byte units minus 2 (RFC 4302 §2.2), and a Fragment
 * header is 8 bytes (§4.5).
 */
export function extensionLength(b: Uint8Array, off: number, kind: number): number {
  if (kind === IpProtocol.Ipv6Frag) return IPV6_FRAGMENT_HEADER;
  return kind === IpProtocol.Ah ? (b[off + 1] + 2) * 4 : (b[off + 1] + 1) * 8;
}

/**
 * Whether the options in `b[start..end)` of a Hop-by-Hop or Destination
 * Options header are well-formed TLVs that exactly fill it (RFC 8200 §4.2):
 * Pad1 is a single zero byte; every other option is type, data length, data.
 */
export function validOptions(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    if (b[i] === 0) {
      i++;
      continue;
    }
    if (i + 2 > end) return false;
    i += 2 + b[i + 1];
  }
  return i === end;
}

/** What {@link emitIpv6Fragment} writes (RFC 8200 §4.5). */
export interface Ipv6FragmentHeader {
  /** The protocol of the fragmentable part's first header. */
  nextHeader: number;
  /** Byte offset of this fragment's data, a multiple of 8. */
  fragmentOffset: number;
  /** The M flag: more fragments follow. */
  moreFragments: boolean;
  identification: number;
}

/**
 * Writes a Fragment header at `buf[off..off+8)` and returns 8. Throws
 * `RangeError` when the offset is not a multiple of 8 below 65,536 or the
 * buffer is too short.
 */
export function emitIpv6Fragment(buf: Uint8Array, off: number, h: Ipv6FragmentHeader): number {
  if (h.fragmentOffset % 8 !== 0 || h.fragmentOffset < 0 || h.fragmentOffset > 0xfff8) {
    throw new RangeError(`IPv6 fragment offset must be a multiple of 8 up to 65528, got ${h.fragmentOffset}`);
  }
  if (off < 0 || buf.length < off + IPV6_FRAGMENT_HEADER) throw new RangeError("buffer too short for a Fragment header");
  buf[off] = h.nextHeader;
  buf[off + 1] = 0;
  set16(buf, off + 2, h.fragmentOffset | (h.moreFragments ? 1 : 0));
  set32(buf, off + 4, h.identification);
  return IPV6_FRAGMENT_HEADER;
}
