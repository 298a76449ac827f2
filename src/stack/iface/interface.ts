/**
 * An IP interface: a Device with its addresses and routes. It answers "is
 * this address mine", picks source addresses, and sends IP datagrams,
 * fragmenting those larger than the MTU. Datagrams to its own addresses
 * (and to 127.0.0.0/8 and ::1, always present as on Linux) loop back inside
 * the stack without touching the device.
 */
import { IoError } from "../../error.js";
import { IPV4_MIN_HEADER, IPV6_HEADER, emitIpv4Header, emitIpv6 } from "../wire/index.js";
import { fragmentIpv4, fragmentIpv6 } from "../ip/fragment.js";
import type { Counters } from "../stats.js";
import { isBroadcast, isLoopback, isMulticast, parseCidr, prefixMatch, sameIp, type Cidr } from "./cidr.js";
import type { Device } from "./device.js";
import { RouteTable, type RouteConfig } from "./routes.js";

/** Room for the largest datagram plus headers. */
const TX_BUFFER = 65535 + 128;

/** How long a learned path MTU is kept (Linux net.ipv4.route.mtu_expires: 600 s). */
export const PMTU_EXPIRES_MS = 600_000;
/** The lowest IPv4 path MTU believed (Linux net.ipv4.route.min_pmtu). */
const MIN_PMTU4 = 552;
/** IPv6's minimum link MTU (RFC 8200 §5). */
const MIN_PMTU6 = 1280;

/** A map key for an address. */
function addressKey(ip: Uint8Array): string {
  let key = "";
  for (let i = 0; i < ip.length; i++) key += String.fromCharCode(ip[i]!);
  return key;
}

export class Interface {
  readonly addresses: Cidr[];
  readonly routes = new RouteTable();
  /** datagrams to ourselves, delivered on the next poll */
  readonly selfQueue: Uint8Array[] = [];
  /** called after each datagram sent or queued to ourselves (the Stack wakes a waiting Poll) */
  onSend: (() => void) | null = null;
  private readonly tx = new Uint8Array(TX_BUFFER);
  /** {@link payloadBuffer}'s views, made once */
  private readonly tx4 = this.tx.subarray(IPV4_MIN_HEADER);
  private readonly tx6 = this.tx.subarray(IPV6_HEADER);
  /** views of the first n bytes of `tx` for the last two lengths sent (data segments and ACKs alternate) */
  private out1 = this.tx.subarray(0, 0);
  private out2 = this.tx.subarray(0, 0);
  /** the last destination found routable, and the route table's version then */
  private readonly routedDst = new Uint8Array(16);
  private routedLength = 0;
  private routedVersion = -1;
  private ipv4Id: number;
  private ipv6Id: number;
  /** path MTUs below the device's learned from ICMP (RFC 1191, RFC 8201), by destination, and until when */
  private readonly pmtus = new Map<string, { mtu: number; until: number }>();

  constructor(
    readonly device: Device,
    addresses: string[],
    routes: RouteConfig[],
    private readonly counters: Counters,
    idSeed: number,
  ) {
    if (!Array.isArray(addresses)) throw new TypeError('addresses must be an array like ["10.0.0.1/24"]');
    this.addresses = addresses.map(parseCidr);
    for (const a of this.addresses) this.routes.addConnected(a);
    for (const r of routes) this.routes.add(r);
    this.ipv4Id = idSeed & 0xffff;
    this.ipv6Id = idSeed >>> 0;
  }

  get mtu(): number {
    return this.device.mtu;
  }

  /** The largest datagram toward `dst`: the device's MTU, or less if a router said so (65535 to ourselves). */
  pathMtu(dst: Uint8Array): number {
    if (this.isLocal(dst)) return 65535;
    const mtu = this.device.mtu;
    if (this.pmtus.size === 0) return mtu;
    const learned = this.pmtus.get(addressKey(dst));
    return learned === undefined ? mtu : Math.min(mtu, learned.mtu);
  }

  /**
   * A router reported that datagrams toward `dst` must be at most
   * `reported` bytes (ICMP Fragmentation Needed, RFC 1191 §6.3; Packet Too
   * Big, RFC 8201 §5): remembered for {@link PMTU_EXPIRES_MS} (Linux's
   * route/mtu_expires), no lower than Linux's min_pmtu (552) for IPv4 or
   * the IPv6 minimum link MTU (1280). A value of 0 or below IPv4's minimum
   * (68: an old router that does not say) is ignored. Returns whether the
   * path MTU went down.
   */
  learnPathMtu(dst: Uint8Array, reported: number, now: number): boolean {
    if (reported < 68 || this.isLocal(dst)) return false;
    const mtu = Math.max(dst.length === 4 ? MIN_PMTU4 : MIN_PMTU6, reported);
    if (mtu >= this.pathMtu(dst)) return false;
    this.pmtus.set(addressKey(dst), { mtu, until: now + PMTU_EXPIRES_MS });
    return true;
  }

  /** Forgets the path MTUs learned more than {@link PMTU_EXPIRES_MS} ago (RFC 1191 §6.3: periodically try larger ones). */
  expirePathMtus(now: number): void {
    if (this.pmtus.size === 0) return;
    for (const [k, v] of this.pmtus) if (now >= v.until) this.pmtus.delete(k);
  }

  /** Whether `ip` is one of this interface's addresses (or loopback). */
  isLocal(ip: Uint8Array): boolean {
    if (isLoopback(ip)) return true;
    for (const a of this.addresses) if (sameIp(a.bytes, ip)) return true;
    return false;
  }

  /** Whether `ip` is a broadcast address of one of our IPv4 prefixes (or 255.255.255.255). */
  isBroadcast(ip: Uint8Array): boolean {
    if (ip.length !== 4) return false;
    if (isBroadcast(ip)) return true;
    for (const a of this.addresses) if (isBroadcast(ip, a)) return true;
    return false;
  }

  /** Whether a datagram to `ip` is for this host. */
  accepts(ip: Uint8Array): boolean {
    return this.isLocal(ip) || this.isBroadcast(ip) || isMulticast(ip);
  }

  /**
   * Whether {@link send} can send to `dst`: a local address, or a route (or
   * a broadcast) and an address of the family to send from.
   */
  routable(dst: Uint8Array): boolean {
    if (this.isLocal(dst)) return true;
    if (!this.addresses.some((a) => a.bytes.length === dst.length)) return false;
    return this.routes.lookup(dst) !== null || this.isBroadcast(dst);
  }

  /**
   * The source address for sending to `dst`: `dst` itself for local
   * destinations, else the address on the route's prefix, else the first of
   * the family. Throws `ENETUNREACH` when no route leads to `dst`.
   */
  sourceFor(dst: Uint8Array): Uint8Array {
    if (this.isLocal(dst)) return dst;
    if (!this.routable(dst)) throw new IoError("ENETUNREACH", undefined, "connect");
    const route = this.routes.lookup(dst);
    const hop = route?.via ?? dst;
    let fallback: Uint8Array | null = null;
    for (const a of this.addresses) {
      if (a.bytes.length !== dst.length) continue;
      if (prefixMatch(hop, a.bytes, a.prefix)) return a.bytes;
      fallback ??= a.bytes;
    }
    return fallback!; // routable() made sure there is an address of the family
  }

  /**
   * The buffer to write an upper-layer payload into, at the offset a
   * datagram to `dst` needs; pass the written length to {@link send}.
   */
  payloadBuffer(family: 4 | 6): Uint8Array {
    return family === 4 ? this.tx4 : this.tx6;
  }

  /**
   * Sends the payload already written at {@link payloadBuffer}: adds the IP
   * header, fragments to the path MTU if needed, and hands the packets to
   * the device (or to the self queue for local destinations). With
   * `dontFragment`, an IPv4 datagram that fits goes out with DF set (what
   * Linux's default IP_PMTUDISC_WANT does for TCP and UDP); fragments never
   * carry it.
   */
  send(src: Uint8Array, dst: Uint8Array, protocol: number, payloadLength: number, ttl: number, dontFragment = false): void {
    const local = this.isLocal(dst);
    if (!local && !this.routedBefore(dst)) {
      if (!this.routable(dst)) throw new IoError("ENETUNREACH", undefined, "sendto");
      this.routedDst.set(dst);
      this.routedLength = dst.length;
      this.routedVersion = this.routes.version;
    }
    const mtu = local ? 65535 : this.pmtus.size === 0 ? this.device.mtu : this.pathMtu(dst);
    if (dst.length === 4) {
      const identification = this.nextIpv4Id();
      if (IPV4_MIN_HEADER + payloadLength <= mtu) {
        emitIpv4Header(this.tx, src, dst, protocol, payloadLength, ttl, identification, dontFragment);
        this.emit(this.txView(IPV4_MIN_HEADER + payloadLength), local);
      } else {
        const h = { src, dst, protocol, payloadLength, ttl, identification };
        fragmentIpv4(h, this.tx.subarray(IPV4_MIN_HEADER, IPV4_MIN_HEADER + payloadLength), mtu, (p) => {
          this.counters.fragmentsSent++;
          this.emit(p, local);
        });
      }
    } else if (IPV6_HEADER + payloadLength <= mtu) {
      emitIpv6(this.tx, { src, dst, nextHeader: protocol, payloadLength, hopLimit: ttl });
      this.emit(this.txView(IPV6_HEADER + payloadLength), local);
    } else {
      const payload = this.tx.subarray(IPV6_HEADER, IPV6_HEADER + payloadLength);
      fragmentIpv6(src, dst, protocol, ttl, this.nextIpv6Id(), payload, mtu, (p) => {
        this.counters.fragmentsSent++;
        this.emit(p, local);
      });
    }
  }

  /** Whether `dst` is the last destination {@link routable} accepted, with the routes unchanged since. */
  private routedBefore(dst: Uint8Array): boolean {
    if (this.routedVersion !== this.routes.version || this.routedLength !== dst.length) return false;
    const r = this.routedDst;
    for (let i = 0; i < dst.length; i++) if (r[i] !== dst[i]) return false;
    return true;
  }

  /** The first `n` bytes of the transmit buffer, reusing the view of one of the last two lengths. */
  private txView(n: number): Uint8Array {
    if (this.out1.length === n) return this.out1;
    const o = this.out2;
    this.out2 = this.out1;
    this.out1 = o.length === n ? o : this.tx.subarray(0, n);
    return this.out1;
  }

  private emit(packet: Uint8Array, local: boolean): void {
    this.counters.txPackets++;
    this.counters.txBytes += packet.length;
    if (local) this.selfQueue.push(packet.slice());
    else this.device.transmit(packet);
    this.onSend?.();
  }

  private nextIpv4Id(): number {
    this.ipv4Id = (this.ipv4Id + 1) & 0xffff;
    return this.ipv4Id;
  }

  private nextIpv6Id(): number {
    this.ipv6Id = (this.ipv6Id + 1) >>> 0;
    return this.ipv6Id;
  }
}
