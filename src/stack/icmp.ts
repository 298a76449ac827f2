/**
 * ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2) and IPv6 (RFC 4443): echo replies,
 * the error messages the host sends (port and protocol unreachable,
 * reassembly time exceeded), and arriving errors mapped to the errno a
 * connected socket reports, with Linux's tables (fatal errors only, as
 * without IP_RECVERR). Errors are rate-limited like Linux: a token bucket of
 * 1000 messages per second, burst 50 (net.ipv4.icmp_msgs_per_sec/_burst).
 */
import {
  ICMP_HEADER,
  Icmpv4Packet,
  Icmpv4Type,
  Icmpv4Unreachable,
  Icmpv6Packet,
  Icmpv6Type,
  IpProtocol,
  Ipv4Packet,
  Ipv6Packet,
  UdpPacket,
  echoRest,
  emitIcmpv4,
  emitIcmpv4Error,
  emitIcmpv6,
  emitIcmpv6Error,
} from "./wire/index.js";
import type { Interface } from "./iface/interface.js";
import type { Counters } from "./stats.js";
import { isMulticast, isUnspecified } from "./iface/cidr.js";

/**
 * A transport's view of an arriving ICMP error: the quoted datagram's ends,
 * its transport header (at least 8 bytes), the errno and whether Linux counts
 * the error as hard (`fatal`: reported to a connected UDP socket at once).
 */
export type TransportError = (
  protocol: number,
  local: Uint8Array,
  localPort: number,
  remote: Uint8Array,
  remotePort: number,
  quoted: Uint8Array,
  errno: string,
  fatal: boolean,
) => void;

/** [errno, fatal] by ICMPv4 Destination Unreachable code (Linux icmp_err_convert). */
const UNREACH4: ReadonlyArray<[string, boolean]> = [
  ["ENETUNREACH", false],
  ["EHOSTUNREACH", false],
  ["ENOPROTOOPT", true],
  ["ECONNREFUSED", true],
  ["EMSGSIZE", true],
  ["EOPNOTSUPP", false],
  ["ENETUNREACH", true],
  ["EHOSTDOWN", true],
  ["ENONET", true],
  ["ENETUNREACH", true],
  ["EHOSTUNREACH", true],
  ["ENETUNREACH", false],
  ["EHOSTUNREACH", false],
  ["EHOSTUNREACH", true],
  ["EHOSTUNREACH", false],
  ["EHOSTUNREACH", true],
];

/** [errno, fatal] by ICMPv6 Destination Unreachable code (Linux icmpv6_err_convert). */
const UNREACH6: ReadonlyArray<[string, boolean]> = [
  ["ENETUNREACH", false],
  ["EACCES", true],
  ["EHOSTUNREACH", false],
  ["EHOSTUNREACH", false],
  ["ECONNREFUSED", true],
  ["EACCES", true],
  ["EACCES", true],
];

const RATE_PER_MS = 1000 / 1000;
const BURST = 50;

export class Icmp {
  private tokens = BURST;
  private lastRefill = 0;
  private readonly ip4 = new Ipv4Packet();
  private readonly ip6 = new Ipv6Packet();
  private readonly icmp4 = new Icmpv4Packet();
  private readonly icmp6 = new Icmpv6Packet();
  private readonly udp = new UdpPacket();

  constructor(
    private readonly iface: Interface,
    private readonly counters: Counters,
    private readonly onError: TransportError,
    private readonly clock: () => number,
  ) {}

  /** Handles an arriving ICMPv4 message (the IPv4 payload). */
  receive4(src: Uint8Array, dst: Uint8Array, message: Uint8Array): void {
    const m = this.icmp4.reset(message);
    const r = m.check();
    if (!r.ok) return this.counters.drop(`icmpv4:${r.reason}`);
    if (m.type === Icmpv4Type.EchoRequest) {
      // Linux's default net.ipv4.icmp_echo_ignore_broadcasts = 1 covers multicast too;
      // a forwarding stack does not answer for the hosts it forwards to
      if (!this.iface.isLocal(dst)) return this.counters.drop(this.iface.accepts(dst) ? "icmpv4:echo-to-broadcast" : "icmp:echo-not-local");
      if (!this.canReply(src)) return this.counters.drop("icmp:no-route");
      const buf = this.iface.payloadBuffer(4);
      buf.set(m.body, ICMP_HEADER);
      const n = emitIcmpv4(buf, { type: Icmpv4Type.EchoReply, rest: echoRest(m.identifier, m.sequence) }, m.body.length);
      this.iface.send(dst.slice(), src.slice(), IpProtocol.Icmp, n, 64);
      return this.counters.icmpSent("echo-reply");
    }
    if (m.type === Icmpv4Type.DestinationUnreachable && m.code < UNREACH4.length) {
      const [errno, fatal] = UNREACH4[m.code]!;
      // Fragmentation Needed: the next-hop MTU in the low 16 bits (RFC 1191 §4)
      return this.quoted4(m.body, errno, fatal, m.code === Icmpv4Unreachable.FragmentationNeeded ? m.rest & 0xffff : undefined);
    }
    if (m.type === Icmpv4Type.ParameterProblem) return this.quoted4(m.body, "EPROTO", true);
    if (m.type === Icmpv4Type.TimeExceeded) return this.quoted4(m.body, "EHOSTUNREACH", false);
    if (m.type !== Icmpv4Type.EchoReply && !m.isError) this.counters.drop("icmpv4:unhandled-type");
  }

  /** Handles an arriving ICMPv6 message (the upper-layer payload). */
  receive6(src: Uint8Array, dst: Uint8Array, message: Uint8Array): void {
    const m = this.icmp6.reset(message);
    const r = m.check(src, dst);
    if (!r.ok) return this.counters.drop(`icmpv6:${r.reason}`);
    if (m.type === Icmpv6Type.EchoRequest) {
      if (!this.iface.accepts(dst)) return this.counters.drop("icmp:echo-not-local");
      if (!this.canReply(src)) return this.counters.drop("icmp:no-route");
      // a multicast echo is answered from a unicast address, as Linux does by
      // default (net.ipv6.icmp.echo_ignore_multicast = 0)
      const from = this.iface.isLocal(dst) ? dst.slice() : this.iface.sourceFor(src);
      const to = src.slice();
      const buf = this.iface.payloadBuffer(6);
      buf.set(m.body, ICMP_HEADER);
      const n = emitIcmpv6(buf, { type: Icmpv6Type.EchoReply, rest: echoRest(m.identifier, m.sequence) }, m.body.length, from, to);
      this.iface.send(from, to, IpProtocol.Icmpv6, n, 64);
      return this.counters.icmpSent("echo-reply");
    }
    if (m.type === Icmpv6Type.DestinationUnreachable && m.code < UNREACH6.length) {
      const [errno, fatal] = UNREACH6[m.code]!;
      this.quoted6(m.body, errno, fatal);
    } else if (m.type === Icmpv6Type.PacketTooBig) {
      this.quoted6(m.body, "EMSGSIZE", true, m.rest);
    } else if (m.type === Icmpv6Type.ParameterProblem) {
      this.quoted6(m.body, "EPROTO", true);
    } else if (m.type === Icmpv6Type.TimeExceeded) {
      this.quoted6(m.body, "EHOSTUNREACH", false);
    }
  }

  /** Reports an error quoted in an ICMPv4 body to the transport that sent it. */
  private quoted4(body: Uint8Array, errno: string, fatal: boolean, mtu?: number): void {
    const ip = this.ip4.reset(body);
    if (!ip.checkQuoted().ok) return this.counters.drop("icmpv4:bad-quoted");
    if (mtu !== undefined) this.learnPathMtu(ip.src, ip.dst, mtu);
    this.transport(ip.protocol, ip.src, ip.dst, body.subarray(ip.headerLength), errno, fatal);
  }

  private quoted6(body: Uint8Array, errno: string, fatal: boolean, mtu?: number): void {
    const ip = this.ip6.reset(body);
    if (!ip.checkQuoted().ok) return this.counters.drop("icmpv6:bad-quoted");
    if (mtu !== undefined) this.learnPathMtu(ip.src, ip.dst, mtu);
    this.transport(ip.upperProtocol, ip.src, ip.dst, body.subarray(ip.upperOffset), errno, fatal);
  }

  /** A router's word on the path MTU toward `dst`, about a datagram we sent (from `src`, one of ours). */
  private learnPathMtu(src: Uint8Array, dst: Uint8Array, mtu: number): void {
    if (!this.iface.isLocal(src)) return this.counters.drop("icmp:pmtu-not-ours");
    this.iface.learnPathMtu(dst, mtu, this.clock());
  }

  /** Hands the error to the transport; RFC 792 and RFC 4443 §2.4(c) quote at least 8 bytes of its header. */
  private transport(protocol: number, local: Uint8Array, remote: Uint8Array, l4: Uint8Array, errno: string, fatal: boolean): void {
    if (l4.length < 8) return this.counters.drop("icmp:short-quote");
    const ports = this.udp.reset(l4);
    this.onError(protocol, local, ports.srcPort, remote, ports.dstPort, l4, errno, fatal);
  }

  /**
   * Sends an ICMP error about `packet` (a whole arriving datagram), unless
   * RFC 1122 §3.2.2 / RFC 4443 §2.4(e) forbid it: in reply to an error, to a
   * broadcast or multicast, from an unspecified or multicast source. `kind`
   * names it in the counters.
   */
  sendError(packet: Uint8Array, type: number, code: number, kind: string, now: number, rest = 0): void {
    const v4 = packet[0]! >> 4 === 4;
    const ip = v4 ? this.ip4.reset(packet) : this.ip6.reset(packet);
    const src = ip.src.slice();
    const dst = ip.dst.slice();
    if (isMulticast(dst) || this.iface.isBroadcast(dst) || this.iface.isBroadcast(src)) return;
    if (v4 ? this.isIcmpv4Error(packet) : this.isIcmpv6Error(packet)) return;
    if (!this.canReply(src)) return this.counters.drop("icmp:no-route");
    if (!this.allow(now)) return this.counters.drop("icmp:rate-limited");
    const from = this.iface.isLocal(dst) ? dst : this.iface.sourceFor(src);
    const buf = this.iface.payloadBuffer(v4 ? 4 : 6);
    const n = v4
      ? emitIcmpv4Error(buf, { type, code, rest }, packet)
      : emitIcmpv6Error(buf, { type, code, rest }, packet, from, src);
    this.iface.send(from, src, v4 ? IpProtocol.Icmp : IpProtocol.Icmpv6, n, 64);
    this.counters.icmpSent(kind);
  }

  /** Whether a reply can go back to `src`: a unicast address we have a route to. */
  private canReply(src: Uint8Array): boolean {
    return !isUnspecified(src) && !isMulticast(src) && this.iface.routable(src);
  }

  /** A non-first fragment, or an ICMPv4 error message: never the cause of an error (RFC 1122 §3.2.2). */
  private isIcmpv4Error(packet: Uint8Array): boolean {
    const ip = this.ip4.reset(packet);
    if (ip.fragmentOffset !== 0) return true;
    if (ip.protocol !== IpProtocol.Icmp) return false;
    const t = packet[ip.headerLength];
    return t !== undefined && this.icmp4.reset(packet.subarray(ip.headerLength)).isError;
  }

  /** A non-first fragment, or an ICMPv6 error message (RFC 4443 §2.4(e)). */
  private isIcmpv6Error(packet: Uint8Array): boolean {
    const ip = this.ip6.reset(packet);
    if (!ip.checkQuoted().ok) return false;
    if (ip.fragmentOffset !== 0) return true;
    if (ip.upperProtocol !== IpProtocol.Icmpv6) return false;
    const t = packet[ip.upperOffset];
    return t !== undefined && t < 128;
  }

  private allow(now: number): boolean {
    this.tokens = Math.min(BURST, this.tokens + (now - this.lastRefill) * RATE_PER_MS);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
