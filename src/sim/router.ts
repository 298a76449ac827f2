/**
 * A router of a {@link Sim}: a node that, like a switch, passes packets on
 * towards the host owning their destination, but as an IP router does
 * (RFC 1812 §5.3, RFC 8200 §3): it decrements the TTL / hop limit, and
 * answers from its own address with ICMP Time Exceeded when it reaches
 * zero (so `traceroute` works), and with Fragmentation Needed / Packet Too Big
 * when a packet does not fit the next link (an IPv4 packet without DF is
 * fragmented instead). UDP to its own addresses gets Port Unreachable.
 */
import type { Driver } from "../poll/selector.js";
import type { Cidr } from "../stack/iface/cidr.js";
import { fragmentIpv4 } from "../stack/ip/fragment.js";
import {
  ICMP_HEADER,
  IPV4_MIN_HEADER,
  IPV6_HEADER,
  Icmpv4Packet,
  Icmpv4TimeExceeded,
  Icmpv4Type,
  Icmpv4Unreachable,
  Icmpv6TimeExceeded,
  Icmpv6Type,
  Icmpv6Unreachable,
  IpProtocol,
  Ipv4Packet,
  Ipv6Packet,
  emitIcmpv4Error,
  emitIcmpv6Error,
  emitIpv4,
  emitIpv6,
} from "../stack/wire/index.js";
import { type Fabric, type Port, type SimNode, earliestDue, nextArrival } from "./fabric.js";

/** Hop limit of the packets a router sends itself. */
const OWN_TTL = 64;

/** A router made by `sim.router(name, { addresses })`: pass it to `sim.link` like a host. */
export class SimRouter implements SimNode {
  /** @internal */
  readonly kind = "router";
  /** @internal */
  readonly ports: Port[] = [];
  /** @internal */
  readonly driver: Driver;
  private readonly ip4 = new Ipv4Packet();
  private readonly ip6 = new Ipv6Packet();
  private readonly out = new Uint8Array(65535);

  /** @internal */
  constructor(
    /** The router's name, unique among the Sim's nodes. */
    readonly name: string,
    /** Its addresses: the first of each family is the source of what it sends. */
    readonly addresses: readonly Cidr[],
    private readonly fabric: Fabric,
  ) {
    const ports = this.ports;
    this.driver = {
      poll: (now: number): void => {
        for (let p = earliestDue(ports, now); p !== null; p = earliestDue(ports, now)) {
          const packet = p.end.receive();
          if (packet === null) return;
          this.route(packet);
        }
      },
      pollAt: () => nextArrival(ports),
    };
  }

  toString(): string {
    return `SimRouter(${this.name})`;
  }

  /** One arriving packet (the router's own copy: it may change it). */
  private route(packet: Uint8Array): void {
    const fabric = this.fabric;
    const to = fabric.ownerOf(packet, "dst");
    const v4 = packet[0]! >> 4 === 4;
    const ip = v4 ? this.ip4.reset(packet) : this.ip6.reset(packet);
    if (to === undefined || !ip.check().ok) return fabric.discard(packet, this, "malformed");
    if (to === this) return this.local(packet, v4);
    const port = to === null ? null : fabric.nextHop(this, to);
    // (the sender's own path led here, so a path on exists: this is a packet nobody may receive)
    if (port === null) return fabric.discard(packet, this, "no-route");
    // RFC 1812 §5.3.1 / RFC 8200 §3: a packet whose TTL would reach zero goes no further
    const hops = v4 ? this.ip4.ttl : this.ip6.hopLimit;
    if (hops <= 1) {
      fabric.discard(packet, this, "ttl");
      return this.error(packet, v4, v4 ? Icmpv4Type.TimeExceeded : Icmpv6Type.TimeExceeded, v4 ? Icmpv4TimeExceeded.TtlExceeded : Icmpv6TimeExceeded.HopLimitExceeded);
    }
    if (v4) {
      this.ip4.ttl = hops - 1;
      this.ip4.fillChecksum();
    } else this.ip6.hopLimit = hops - 1;
    const mtu = port.end.mtu;
    if (packet.length > mtu) return this.tooBig(packet, v4, port, mtu);
    fabric.count("forwarded");
    port.end.transmit(packet);
  }

  /**
   * RFC 1191 / RFC 8201: DF (or any IPv6 packet: only its source may
   * fragment it) gets an ICMP error with the next hop's MTU; IPv4 without
   * DF, fragments included, is fragmented (RFC 791 §2.3).
   */
  private tooBig(packet: Uint8Array, v4: boolean, port: Port, mtu: number): void {
    const ip = this.ip4;
    if (v4 && !ip.dontFragment) {
      const payload = packet.subarray(ip.headerLength, ip.totalLength);
      const header = {
        src: ip.src,
        dst: ip.dst,
        protocol: ip.protocol,
        payloadLength: 0,
        ttl: ip.ttl,
        identification: ip.identification,
        dscp: ip.dscp,
        ecn: ip.ecn,
        fragmentOffset: ip.fragmentOffset,
        moreFragments: ip.moreFragments,
      };
      fragmentIpv4(header, payload, mtu, (f) => {
        this.fabric.count("forwarded");
        port.end.transmit(f);
      });
      return;
    }
    this.fabric.discard(packet, this, "mtu");
    if (v4) this.error(packet, true, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.FragmentationNeeded, mtu & 0xffff);
    else this.error(packet, false, Icmpv6Type.PacketTooBig, 0, mtu);
  }

  /**
   * A packet to one of the router's own addresses: UDP gets Port
   * Unreachable (no service listens on a router; `traceroute` to it ends
   * there), anything else is dropped.
   */
  private local(packet: Uint8Array, v4: boolean): void {
    const protocol = v4 ? this.ip4.protocol : this.ip6.upperProtocol;
    if (protocol !== IpProtocol.Udp) return this.fabric.discard(packet, this, "router-local");
    this.fabric.discard(packet, this, "router-local");
    if (v4) this.error(packet, true, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Port);
    else this.error(packet, false, Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.Port);
  }

  /**
   * An ICMP error about `packet` to its source, from the router's first
   * address of that family; never about an ICMP error or a non-first
   * fragment (RFC 1812 §4.3.2.7, RFC 4443 §2.4(e)).
   */
  private error(packet: Uint8Array, v4: boolean, type: number, code: number, rest = 0): void {
    const ip = v4 ? this.ip4.reset(packet) : this.ip6.reset(packet);
    const to = ip.src.slice();
    const from = this.addressFor(v4 ? 4 : 6);
    if (from === null) return;
    if (v4) {
      const l4 = packet.subarray(this.ip4.headerLength);
      if (this.ip4.fragmentOffset !== 0) return;
      if (this.ip4.protocol === IpProtocol.Icmp && l4.length >= ICMP_HEADER && new Icmpv4Packet(l4).isError) return;
      this.send(from, to, true, (buf) => emitIcmpv4Error(buf, { type, code, rest }, packet));
    } else {
      if (this.ip6.fragmentHeaderOffset >= 0 && this.ip6.fragmentOffset !== 0) return;
      if (this.ip6.upperProtocol === IpProtocol.Icmpv6 && (packet[this.ip6.upperOffset] ?? 255) < 128) return;
      this.send(from, to, false, (buf) => emitIcmpv6Error(buf, { type, code, rest }, packet, from, to));
    }
  }

  /** The router's source address for `family`, or null without one. */
  private addressFor(family: 4 | 6): Uint8Array | null {
    return this.addresses.find((a) => a.family === family)?.bytes ?? null;
  }

  /** Builds a packet from `src` to `dst` (`body` writes the ICMP message and returns its length) and sends it towards `dst`. */
  private send(src: Uint8Array, dst: Uint8Array, v4: boolean, body: (buf: Uint8Array) => number): void {
    const header = v4 ? IPV4_MIN_HEADER : IPV6_HEADER;
    const n = body(this.out.subarray(header));
    if (v4) emitIpv4(this.out, { src, dst, protocol: IpProtocol.Icmp, payloadLength: n, ttl: OWN_TTL });
    else emitIpv6(this.out, { src, dst, nextHeader: IpProtocol.Icmpv6, payloadLength: n, hopLimit: OWN_TTL });
    const packet = this.out.subarray(0, header + n);
    const fabric = this.fabric;
    const to = fabric.ownerOf(packet, "dst");
    const port = to === null || to === undefined ? null : fabric.nextHop(this, to);
    if (port === null) return fabric.discard(packet, this, "no-route");
    fabric.record(packet, this);
    fabric.count("sent");
    port.end.transmit(packet);
  }
}
