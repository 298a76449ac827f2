/**
 * Fragmentation of outgoing datagrams larger than the MTU: IPv4 per RFC 791
 * §3.2 (each fragment's data a multiple of 8 bytes, the header copied), IPv6
 * per RFC 8200 §4.5 (a Fragment header after the fixed header; the source
 * alone fragments).
 */
import { IPV4_MIN_HEADER, IPV6_FRAGMENT_HEADER, IPV6_HEADER, IpProtocol, emitIpv4, emitIpv6, emitIpv6Fragment, type Ipv4Header } from "../wire/index.js";

/** Sends each fragment (the buffer is reused between calls). */
export type Emit = (packet: Uint8Array) => void;

const scratch = new Uint8Array(65535 + 64);

/**
 * Splits an IPv4 payload into fragments of at most `mtu` bytes (20-byte
 * headers). When `h` is itself a fragment (a router splitting it again,
 * RFC 791 §3.2), the pieces start at its `fragmentOffset` and the last
 * keeps its More Fragments flag.
 */
export function fragmentIpv4(h: Ipv4Header, payload: Uint8Array, mtu: number, emit: Emit): void {
  const chunk = (mtu - IPV4_MIN_HEADER) & ~7;
  const base = h.fragmentOffset ?? 0;
  for (let off = 0; off < payload.length; off += chunk) {
    const n = Math.min(chunk, payload.length - off);
    const more = off + n < payload.length || h.moreFragments === true;
    const hl = emitIpv4(scratch, { ...h, payloadLength: n, fragmentOffset: base + off, moreFragments: more, options: undefined });
    scratch.set(payload.subarray(off, off + n), hl);
    emit(scratch.subarray(0, hl + n));
  }
}

/** Splits an IPv6 payload (whose first header is `nextHeader`) into fragments of at most `mtu` bytes. */
export function fragmentIpv6(
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  hopLimit: number,
  identification: number,
  payload: Uint8Array,
  mtu: number,
  emit: Emit,
): void {
  const chunk = (mtu - IPV6_HEADER - IPV6_FRAGMENT_HEADER) & ~7;
  for (let off = 0; off < payload.length; off += chunk) {
    const n = Math.min(chunk, payload.length - off);
    const more = off + n < payload.length;
    emitIpv6(scratch, { src, dst, nextHeader: IpProtocol.Ipv6Frag, payloadLength: IPV6_FRAGMENT_HEADER + n, hopLimit });
    emitIpv6Fragment(scratch, IPV6_HEADER, { nextHeader, fragmentOffset: off, moreFragments: more, identification });
    scratch.set(payload.subarray(off, off + n), IPV6_HEADER + IPV6_FRAGMENT_HEADER);
    emit(scratch.subarray(0, IPV6_HEADER + IPV6_FRAGMENT_HEADER + n));
  }
}
