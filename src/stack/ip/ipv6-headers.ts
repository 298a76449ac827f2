/** Locating fields in an IPv6 packet's chain of extension headers (RFC 8200 §4). */
import { IPV6_HEADER, IpProtocol } from "../wire/index.js";
import { extensionLength, isExtensionHeader } from "../wire/ipv6-ext.js";

/**
 * The offset of the Next Header field that names the upper-layer protocol
 * (or the Fragment header's, for a fragment): 6 without extension headers.
 * What an ICMPv6 "unrecognized Next Header" Parameter Problem points at (RFC
 * 4443 §3.4). `packet` must have passed `Ipv6Packet.check`.
 */
export function nextHeaderFieldOffset(packet: Uint8Array): number {
  let field = 6;
  let off = IPV6_HEADER;
  let next = packet[field]!;
  while (isExtensionHeader(next) && off + 2 <= packet.length) {
    field = off;
    if (next === IpProtocol.Ipv6Frag) break;
    off += extensionLength(packet, off, next);
    next = packet[field]!;
  }
  return field;
}
