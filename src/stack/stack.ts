/**
 * The userspace TCP/IP stack, shaped like smoltcp's: a `Stack` owns an
 * interface and its sockets and has no thread or timer of its own. It is
 * driven: `poll(now)` moves packets between the device and the sockets and
 * runs due timers; `pollAt()` says when it next needs to run. A Stack made
 * with a `poll` is driven by that Poll inside every `poll()`/`pollAsync()`.
 */
import { IoError } from "../error.js";
import type { Network } from "../net/network.js";
import { SocketAddr, toSocketAddr, type SocketAddrLike } from "../net/socket-addr.js";
import { realClock, type Clock } from "../poll/clock.js";
import type { Poll } from "../poll/poll.js";
import { selectorOf } from "../poll/registry.js";
import type { Driver } from "../poll/selector.js";
import { Random } from "../random.js";
import { isBroadcast, isLoopback, isMulticast, isUnspecified, sameIp } from "./iface/cidr.js";
import type { Device } from "./iface/device.js";
import { Interface } from "./iface/interface.js";
import type { RouteConfig } from "./iface/routes.js";
import type { StackForwarding } from "./forward.js";
import { Icmp } from "./icmp.js";
import { nextHeaderFieldOffset } from "./ip/ipv6-headers.js";
import { Reassembler } from "./ip/reassembly.js";
import { Counters, type StackStats } from "./stats.js";
import { UdpPorts } from "./udp/ports.js";
import { TcpLayer } from "./tcp/layer.js";
import type { TcpConfig, TcpConnection, TcpState, TcpStats } from "./tcp/connection.js";
import type { VirtualTcpListener } from "./tcp/listener.js";
import type { VirtualTcpStream } from "./tcp/socket.js";
import { VirtualUdpSocket, type UdpHost } from "./udp/socket.js";
import {
  IPV6_HEADER,
  Icmpv4TimeExceeded,
  Icmpv4Type,
  Icmpv4Unreachable,
  Icmpv6ParameterProblem,
  Icmpv6TimeExceeded,
  Icmpv6Type,
  Icmpv6Unreachable,
  IpProtocol,
  Ipv4Packet,
  Ipv6Packet,
  UDP_HEADER,
  UdpPacket,
  emitUdp,
} from "./wire/index.js";

/** Options for {@link Stack}. */
export interface StackOptions {
  /** The Poll that drives this stack (and whose clock it runs on). */
  poll?: Poll;
  /** The clock, when there is no `poll` (default: real time). */
  clock?: Clock;
  /** Where packets go in and out. */
  device: Device;
  /** Interface addresses with prefix: `["10.0.0.1/24", "fd00::1/64"]`. */
  addresses: string[];
  /** Extra routes, e.g. a default gateway `{ dest: "0.0.0.0/0", via: "10.0.0.254" }`. */
  routes?: RouteConfig[];
  /** Seed of every random choice (ephemeral ports, IP identifications); default 0. */
  seed?: number;
  /**
   * How long an incomplete fragmented datagram is kept (ms); default 30,000
   * for IPv4 and 60,000 for IPv6 (Linux ipfrag_time, ip6frag_time).
   */
  reassemblyTimeoutMs?: number;
  /**
   * Memory for fragments awaiting reassembly, per IP version, each fragment
   * counting its length plus 256 bytes; past it new fragments are dropped
   * (counted as "ipv4:fragment-memory" / "ipv6:fragment-memory"). Default 4
   * MiB (Linux ipfrag_high_thresh).
   */
  reassemblyBytes?: number;
  /**
   * TCP settings: send/receive buffer bytes (default 256 KiB each),
   * congestion control ("cubic", default, or "newreno"), TIME-WAIT length
   * (2·MSL, default 60,000 ms as Linux), SYN and data retry limits (6 and
   * 15), delayed-ACK timeout (40 ms).
   */
  tcp?: Partial<TcpConfig>;
  /**
   * Makes this stack the far end of a whole network (a gateway that
   * terminates connections, as `tsmio run` does): it takes datagrams to any
   * unicast address, offers SYNs and UDP datagrams that find no listener or
   * bound socket to these handlers, and answers from the address the peer
   * asked for. See {@link StackForwarding}.
   */
  forward?: StackForwarding;
}

const MAX_UDP4 = 65535 - 20 - UDP_HEADER;
const MAX_UDP6 = 65535 - UDP_HEADER;

/** A userspace TCP/IP host: implements {@link Network} with virtual sockets. */
export class Stack implements Network, Driver, UdpHost {
  private readonly iface: Interface;
  private readonly clock: Clock;
  private readonly counters = new Counters();
  private readonly random: Random;
  private readonly udpPorts: UdpPorts;
  private readonly tcp: TcpLayer;
  private readonly stateListeners: Array<(e: TcpStateEvent) => void> = [];
  private readonly retransmitListeners: Array<(e: TcpRetransmitEvent) => void> = [];
  private readonly icmp: Icmp;
  private readonly reassembly4: Reassembler;
  private readonly reassembly6: Reassembler;
  private readonly ip4 = new Ipv4Packet();
  private readonly ip6 = new Ipv6Packet();
  private readonly udp = new UdpPacket();
  private readonly poller: Poll | undefined;
  private readonly forward: StackForwarding | null;
  private now = 0;
  private closed = false;
  /** inside {@link poll} */
  private polling = false;

  constructor(options: StackOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("Stack needs options { device, addresses }");
    const { device, poll } = options;
    if (!device || typeof device.receive !== "function" || typeof device.transmit !== "function") {
      throw new TypeError("device must implement receive() and transmit()");
    }
    const seed = options.seed ?? 0;
    this.random = new Random(seed, "stack");
    this.iface = new Interface(device, options.addresses, options.routes ?? [], this.counters, this.random.u32());
    this.udpPorts = new UdpPorts(new Random(seed, "udp-ports"));
    this.forward = checkForwarding(options.forward);
    const forwardTcp = this.forward?.tcp;
    this.tcp = new TcpLayer(this.iface, this.counters, () => this.clock.now(), new Random(seed, "tcp"), {
      state: (c, from, to) => {
        for (const f of this.stateListeners) f({ ...connectionIds(c), from, to });
      },
      retransmit: (c, seq, length) => {
        for (const f of this.retransmitListeners) f({ ...connectionIds(c), seq, length, stats: c.stats() });
      },
    }, options.tcp, forwardTcp === undefined ? null : {
      offer: (request) => forwardTcp.call(this.forward, request),
      unreachable: (packet, how) => this.unreachable(packet, how),
    });
    this.icmp = new Icmp(this.iface, this.counters, (p, l, lp, r, rp, q, e, f) => this.transportError(p, l, lp, r, rp, q, e, f), () => this.now);
    this.reassembly4 = new Reassembler(options.reassemblyTimeoutMs ?? 30_000, options.reassemblyBytes ?? 4 << 20);
    this.reassembly6 = new Reassembler(options.reassemblyTimeoutMs ?? 60_000, options.reassemblyBytes ?? 4 << 20);
    this.poller = poll;
    this.tcp.poll = poll;
    this.clock = poll ? selectorOf(poll.registry()).clock : (options.clock ?? realClock);
    device.attach?.(this.clock);
    this.now = this.clock.now();
    if (poll) {
      // a kernel-backed device (TUN) also wakes the Poll when packets wait
      const selector = selectorOf(poll.registry());
      if (device.fd === undefined) {
        selector.drive(this);
        // a packet sent outside a poll (a socket written, connected or closed by user code) may
        // arrive, on a timed device, before the deadline a waiting pollAsync sleeps until
        this.iface.onSend = () => {
          if (!this.polling) selector.wake();
        };
      } else selector.driveFd(device.fd, this);
    }
  }

  // ---- Network ----------------------------------------------------------

  /** A virtual UDP socket bound to `addr` (port 0 picks a free port). */
  udpBind(addr: SocketAddrLike): VirtualUdpSocket {
    const a = toSocketAddr(addr);
    this.live();
    const ip = a.ipBytes();
    if (!isUnspecified(ip) && !this.iface.isLocal(ip)) throw new IoError("EADDRNOTAVAIL", undefined, "bind");
    const bound = this.udpPorts.claim(a, (port) => SocketAddr.fromBytes(ip, port));
    const sock = new VirtualUdpSocket(this, bound);
    this.udpPorts.insert(sock, bound);
    return sock;
  }

  /** A virtual TCP listener on `addr` (port 0 picks a free port). */
  tcpBind(addr: SocketAddrLike): VirtualTcpListener {
    const a = toSocketAddr(addr);
    this.live();
    return this.tcp.bind(a);
  }

  /** Starts a non-blocking connect to `addr`, like the kernel's. */
  tcpConnect(addr: SocketAddrLike): VirtualTcpStream {
    const a = toSocketAddr(addr);
    this.live();
    return this.tcp.connect(a);
  }

  /**
   * Starts a non-blocking connect to `addr` from `from`, which need not be
   * one of this stack's addresses (IP_TRANSPARENT): how a forwarding stack
   * opens a connection on behalf of a host behind it, keeping that host's
   * address. EADDRINUSE when the four-tuple is taken.
   */
  tcpConnectFrom(from: SocketAddrLike, addr: SocketAddrLike): VirtualTcpStream {
    const f = toSocketAddr(from);
    const a = toSocketAddr(addr);
    this.live();
    return this.tcp.connectFrom(f, a);
  }

  /**
   * Sends one UDP datagram from `from`, which need not be one of this
   * stack's addresses (IP_TRANSPARENT): how a forwarding stack answers from
   * the address a datagram was sent to. Errors as `sendTo`.
   */
  udpSendFrom(from: SocketAddrLike, to: SocketAddrLike, payload: Uint8Array): void {
    const f = toSocketAddr(from);
    const t = toSocketAddr(to);
    if (!(payload instanceof Uint8Array)) throw new TypeError("payload must be a Uint8Array");
    this.live();
    if (f.port === 0 || isUnspecified(f.ipBytes())) throw new IoError("EINVAL", "the source needs an address and a port", "sendto");
    checkUdpSend(f.family, t, payload);
    this.sendUdp(f.ipBytes(), f.port, t, payload, 64);
  }

  /** @internal the TCP layer itself, for tests (a chosen local port, a small backlog) */
  get tcpLayer(): TcpLayer {
    return this.tcp;
  }

  /**
   * Observes TCP: `"tcp-state"` for every state change of a connection,
   * `"tcp-retransmit"` for every retransmission (with the connection's stats).
   */
  on(event: "tcp-state", fn: (e: TcpStateEvent) => void): this;
  on(event: "tcp-retransmit", fn: (e: TcpRetransmitEvent) => void): this;
  on(event: "tcp-state" | "tcp-retransmit", fn: ((e: TcpStateEvent) => void) | ((e: TcpRetransmitEvent) => void)): this {
    if (typeof fn !== "function") throw new TypeError("listener must be a function");
    if (event === "tcp-state") this.stateListeners.push(fn as (e: TcpStateEvent) => void);
    else if (event === "tcp-retransmit") this.retransmitListeners.push(fn as (e: TcpRetransmitEvent) => void);
    else throw new TypeError(`unknown event ${String(event)}: "tcp-state" or "tcp-retransmit"`);
    return this;
  }

  /** Per-connection TCP statistics, keyed by `"local -> remote"`. */
  tcpStats(): Record<string, TcpStats> {
    const out: Record<string, TcpStats> = {};
    for (const c of this.tcp.connections()) {
      const ids = connectionIds(c);
      out[`${ids.local} -> ${ids.remote}`] = c.stats();
    }
    return out;
  }

  // ---- driving ----------------------------------------------------------

  /** Moves packets from the device (and to ourselves) into sockets and runs due timers. */
  poll(now: number): void {
    if (this.closed) return;
    this.polling = true;
    try {
      this.advance(now);
    } finally {
      this.polling = false;
    }
  }

  private advance(now: number): void {
    this.now = now;
    const self = this.iface.selfQueue;
    for (let i = 0; i < self.length; i++) this.receive(self[i]!, false);
    self.length = 0;
    const device = this.iface.device;
    for (let pkt = device.receive(); pkt !== null; pkt = device.receive()) this.receive(pkt, true);
    this.expireFragments(now);
    this.iface.expirePathMtus(now);
    this.tcp.onTimers(now);
  }

  /** When this stack next needs `poll`: a device arrival or a timer; null if never. */
  pollAt(): number | null {
    if (this.closed) return null;
    if (this.iface.selfQueue.length > 0) return this.now;
    let next = this.iface.device.pollAt?.() ?? null;
    next = earlier(next, this.reassembly4.nextDeadline());
    next = earlier(next, this.reassembly6.nextDeadline());
    return earlier(next, this.tcp.deadline());
  }

  /** Counters of packets in, out and dropped by reason. */
  stats(): StackStats {
    return this.counters.snapshot();
  }

  /** Stops being driven by its Poll. Sockets of a closed stack stay closed to the network. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) selectorOf(this.poller.registry()).undrive(this, this.iface.device.fd);
  }

  private live(): void {
    if (this.closed) throw new IoError("EBADF", "stack is closed");
  }

  // ---- ingress ----------------------------------------------------------

  /**
   * One arriving IP packet, from the device or (`fromDevice` false) sent to
   * ourselves. Malformed or unexpected packets are counted and dropped.
   */
  private receive(pkt: Uint8Array, fromDevice: boolean): void {
    this.counters.rxPackets++;
    this.counters.rxBytes += pkt.length;
    // checksum offload: the device vouches for the TCP/UDP checksums
    const verified = fromDevice && this.iface.device.checksumsVerified === true;
    const version = pkt.length > 0 ? pkt[0]! >> 4 : 0;
    if (version === 4) this.receive4(pkt, fromDevice, verified);
    else if (version === 6) this.receive6(pkt, fromDevice, verified);
    else this.counters.drop("ip:bad-version");
  }

  private receive4(pkt: Uint8Array, fromDevice: boolean, verified: boolean): void {
    const ip = this.ip4.reset(pkt);
    const r = ip.check();
    if (!r.ok) return this.counters.drop(`ipv4:${r.reason}`);
    // each getter makes a view: take them once
    let src = ip.src;
    let dst = ip.dst;
    if (fromDevice) {
      const martian = this.martian4(src, dst);
      if (martian !== null) return this.counters.drop(`ipv4:${martian}`);
    }
    if (this.forward === null && !this.iface.accepts(dst)) return this.counters.drop("ipv4:not-for-us");
    let payload = ip.payload;
    // without link padding past Total Length, the packet is the datagram
    const total = ip.totalLength;
    let packet = pkt.length === total ? pkt : pkt.subarray(0, total);
    if (ip.isFragment) {
      const key = `${src.join(".")}>${dst.join(".")}/${ip.protocol}/${ip.identification}`;
      const res = this.reassembly4.add(key, ip.fragmentOffset, payload, ip.moreFragments, packet, this.now);
      if (!res.done) {
        if (res.dropped) this.counters.drop(`ipv4:fragment-${res.dropped}`);
        return;
      }
      this.counters.reassembled++;
      packet = res.first;
      payload = res.payload;
      this.ip4.reset(packet);
      src = this.ip4.src;
      dst = this.ip4.dst;
      verified = false; // the fragments' checksum offload does not cover the whole datagram
    }
    this.deliver(this.ip4.protocol, src, dst, payload, packet, verified);
  }

  private receive6(pkt: Uint8Array, fromDevice: boolean, verified: boolean): void {
    const ip = this.ip6.reset(pkt);
    const r = ip.check();
    if (!r.ok) return this.counters.drop(`ipv6:${r.reason}`);
    let src = ip.src;
    let dst = ip.dst;
    // Linux ip6_rcv_core: no multicast source; ::1 only on the loopback
    if (isMulticast(src) || (fromDevice && isLoopback(src))) return this.counters.drop("ipv6:martian-source");
    if (fromDevice && isLoopback(dst)) return this.counters.drop("ipv6:martian-destination");
    if (this.forward === null && !this.iface.accepts(dst)) return this.counters.drop("ipv6:not-for-us");
    let payload = ip.upperPayload;
    const total = IPV6_HEADER + ip.payloadLength;
    let packet = pkt.length === total ? pkt : pkt.subarray(0, total);
    let protocol = ip.upperProtocol;
    if (ip.fragmentHeaderOffset >= 0) {
      const key = `${src.join(":")}>${dst.join(":")}/${ip.fragmentIdentification}`;
      const res = this.reassembly6.add(key, ip.fragmentOffset, payload, ip.moreFragments, packet, this.now);
      if (!res.done) {
        if (res.dropped) this.counters.drop(`ipv6:fragment-${res.dropped}`);
        return;
      }
      this.counters.reassembled++;
      packet = res.first;
      payload = res.payload;
      this.ip6.reset(packet).check();
      protocol = this.ip6.upperProtocol;
      src = this.ip6.src;
      dst = this.ip6.dst;
      verified = false;
    }
    this.deliver(protocol, src, dst, payload, packet, verified);
  }

  /**
   * Hands an upper-layer payload to its protocol. `packet` is the IP datagram,
   * for ICMP errors; `verified`: the device vouched for its checksum.
   */
  private deliver(protocol: number, src: Uint8Array, dst: Uint8Array, payload: Uint8Array, packet: Uint8Array, verified: boolean): void {
    const v4 = src.length === 4;
    // nothing follows (RFC 8200 §4.7): discarded quietly, as Linux does
    if (!v4 && protocol === IpProtocol.Ipv6NoNxt) return this.counters.drop("ipv6:no-next-header");
    switch (protocol) {
      case IpProtocol.Udp:
        return this.receiveUdp(src, dst, payload, packet, verified);
      case IpProtocol.Tcp:
        return this.tcp.receive(src, dst, payload, verified, packet);
      case IpProtocol.Icmp:
        return v4 ? this.icmp.receive4(src, dst, payload) : this.counters.drop("ipv6:icmpv4");
      case IpProtocol.Icmpv6:
        return v4 ? this.counters.drop("ipv4:icmpv6") : this.icmp.receive6(src, dst, payload);
      default:
        this.counters.drop(`ip:protocol-${protocol}`);
        // a forwarding stack answers for its own addresses only
        if (!this.iface.accepts(dst)) return;
        if (v4) this.icmp.sendError(packet, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Protocol, "protocol-unreachable", this.now);
        else {
          // the pointer names the Next Header field that holds the unknown value (RFC 4443 §3.4)
          const pointer = nextHeaderFieldOffset(packet);
          this.icmp.sendError(packet, Icmpv6Type.ParameterProblem, Icmpv6ParameterProblem.UnrecognizedNextHeader, "parameter-problem", this.now, pointer);
        }
    }
  }

  /**
   * Why an IPv4 datagram from the device is a martian (Linux
   * ip_route_input_slow, fib_validate_source), or null: a multicast,
   * broadcast, zero-network, loopback or own source; a loopback or
   * zero-network destination.
   */
  private martian4(src: Uint8Array, dst: Uint8Array): string | null {
    const s0 = src[0]!;
    if (isMulticast(src) || this.iface.isBroadcast(src) || s0 === 127 || this.iface.isLocal(src)) return "martian-source";
    // 0.0.0.0/8 as a source is accepted only towards the limited broadcast (DHCP)
    if (s0 === 0 && !isBroadcast(dst)) return "martian-source";
    if (dst[0] === 127 || dst[0] === 0) return "martian-destination";
    return null;
  }

  private receiveUdp(src: Uint8Array, dst: Uint8Array, datagram: Uint8Array, packet: Uint8Array, verified: boolean): void {
    const u = this.udp.reset(datagram);
    const r = u.check(src, dst, verified);
    if (!r.ok) return this.counters.drop(`udp:${r.reason}`);
    // a forwarding stack's sockets take datagrams to its own addresses only
    const sock = this.forward === null || this.iface.accepts(dst) ? this.udpPorts.lookup(dst, u.dstPort, src, u.srcPort) : null;
    if (sock === null && this.forward?.udp !== undefined && this.forward.udp(u.payload, this.senderAddr(src, u.srcPort), SocketAddr.fromBytes(dst, u.dstPort))) return;
    if (sock === null) {
      this.counters.drop("udp:no-socket");
      const v4 = src.length === 4;
      if (v4) this.icmp.sendError(packet, Icmpv4Type.DestinationUnreachable, Icmpv4Unreachable.Port, "port-unreachable", this.now);
      else this.icmp.sendError(packet, Icmpv6Type.DestinationUnreachable, Icmpv6Unreachable.Port, "port-unreachable", this.now);
      return;
    }
    if (!sock.deliver(u.payload, this.senderAddr(src, u.srcPort))) this.counters.drop("udp:queue-full");
  }

  private lastSender: SocketAddr | null = null;

  /** The SocketAddr of a sender; the last one is reused (they are immutable), saving an allocation per datagram of a flow. */
  private senderAddr(ip: Uint8Array, port: number): SocketAddr {
    const last = this.lastSender;
    if (last !== null && last.port === port && sameIp(last.ipBytes(), ip)) return last;
    return (this.lastSender = SocketAddr.fromBytes(ip, port));
  }

  /** An ICMP error about a datagram we sent: to the UDP socket (hard errors only, as Linux) or the TCP connection. */
  private transportError(
    protocol: number,
    local: Uint8Array,
    localPort: number,
    remote: Uint8Array,
    remotePort: number,
    quoted: Uint8Array,
    errno: string,
    fatal: boolean,
  ): void {
    if (protocol === IpProtocol.Udp) {
      if (fatal) this.udpPorts.findConnected(local, localPort, remote, remotePort)?.setError(errno);
    } else if (protocol === IpProtocol.Tcp) {
      this.tcp.icmpError(local, localPort, remote, remotePort, quoted, errno);
    }
  }

  private expireFragments(now: number): void {
    for (const first of this.reassembly4.expire(now)) {
      this.icmp.sendError(first, Icmpv4Type.TimeExceeded, Icmpv4TimeExceeded.FragmentReassembly, "reassembly-time-exceeded", now);
    }
    for (const first of this.reassembly6.expire(now)) {
      this.icmp.sendError(first, Icmpv6Type.TimeExceeded, Icmpv6TimeExceeded.FragmentReassembly, "reassembly-time-exceeded", now);
    }
  }

  // ---- UdpHost ------------------------------------------------------------

  /** @internal */
  udpSend(sock: VirtualUdpSocket, payload: Uint8Array, dst: SocketAddr): void {
    this.live();
    const local = sock.localAddr();
    const to = dst.ipBytes();
    checkUdpSend(local.family, dst, payload);
    if (this.iface.isBroadcast(to) && !sock.broadcast()) throw new IoError("EACCES", undefined, "sendto");
    let from = local.ipBytes();
    if (isUnspecified(from)) from = this.iface.sourceFor(to);
    this.sendUdp(from, local.port, dst, payload, sock.ttl());
  }

  /** Emits one UDP datagram, checked by {@link checkUdpSend}. */
  private sendUdp(from: Uint8Array, fromPort: number, dst: SocketAddr, payload: Uint8Array, ttl: number): void {
    const family = from.length === 4 ? 4 : 6;
    const to = dst.ipBytes();
    const buf = this.iface.payloadBuffer(family);
    buf.set(payload, UDP_HEADER);
    const n = emitUdp(buf, { srcPort: fromPort, dstPort: dst.port }, payload.length, from, to);
    this.iface.send(from, to, IpProtocol.Udp, n, ttl, true);
  }

  /** ICMP destination unreachable about `packet` (a forwarded SYN refused): host unreachable or administratively prohibited. */
  private unreachable(packet: Uint8Array, how: "unreachable" | "prohibited"): void {
    if (packet[0]! >> 4 === 4) {
      const code = how === "unreachable" ? Icmpv4Unreachable.Host : Icmpv4Unreachable.CommunicationProhibited;
      this.icmp.sendError(packet, Icmpv4Type.DestinationUnreachable, code, `${how}`, this.clock.now());
    } else {
      const code = how === "unreachable" ? Icmpv6Unreachable.Address : Icmpv6Unreachable.AdminProhibited;
      this.icmp.sendError(packet, Icmpv6Type.DestinationUnreachable, code, `${how}`, this.clock.now());
    }
  }

  /** @internal */
  udpConnectLocal(sock: VirtualUdpSocket, dst: SocketAddr): SocketAddr {
    const local = sock.localAddr();
    if (dst.family !== local.family) throw new IoError("EAFNOSUPPORT", undefined, "connect");
    // the kernel looks the route up even for a bound socket (ip4_datagram_connect)
    if (!this.iface.routable(dst.ipBytes())) throw new IoError("ENETUNREACH", undefined, "connect");
    if (!isUnspecified(local.ipBytes())) return local;
    const src = this.iface.sourceFor(dst.ipBytes());
    const bound = SocketAddr.fromBytes(src, local.port);
    this.udpPorts.rebind(sock, bound);
    return bound;
  }

  /** @internal */
  udpClose(sock: VirtualUdpSocket): void {
    this.udpPorts.unbind(sock, sock.localAddr().port);
  }
}


/** A TCP connection changed state. */
export interface TcpStateEvent {
  local: string;
  remote: string;
  from: TcpState;
  to: TcpState;
}

/** A TCP segment was retransmitted. */
export interface TcpRetransmitEvent {
  local: string;
  remote: string;
  seq: number;
  length: number;
  stats: TcpStats;
}

/** sendto's checks of a UDP datagram from a socket of `family` to `dst` (Linux udp_sendmsg order). */
function checkUdpSend(family: 4 | 6, dst: SocketAddr, payload: Uint8Array): void {
  if (dst.family !== family) throw new IoError(family === 4 ? "EAFNOSUPPORT" : "ENETUNREACH", undefined, "sendto");
  if (payload.length > (family === 4 ? MAX_UDP4 : MAX_UDP6)) throw new IoError("EMSGSIZE", undefined, "sendto");
  if (dst.port === 0) throw new IoError("EINVAL", undefined, "sendto");
}

/** Checks the forwarding handlers given to a Stack. */
function checkForwarding(f: StackForwarding | undefined): StackForwarding | null {
  if (f === undefined) return null;
  if (f === null || typeof f !== "object") throw new TypeError("forward must be an object { tcp?, udp? }");
  for (const k of ["tcp", "udp"] as const) {
    if (f[k] !== undefined && typeof f[k] !== "function") throw new TypeError(`forward.${k} must be a function`);
  }
  return f;
}

/** The earlier of two optional times. */
function earlier(a: number | null, b: number | null): number | null {
  return b !== null && (a === null || b < a) ? b : a;
}

function connectionIds(c: TcpConnection): { local: string; remote: string } {
  return {
    local: SocketAddr.fromBytes(c.local, c.localPort).toString(),
    remote: SocketAddr.fromBytes(c.remote, c.remotePort).toString(),
  };
}
