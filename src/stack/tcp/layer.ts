/**
 * The stack's TCP: demultiplexes arriving segments to connections and
 * listeners (RST for closed ports, RFC 9293 §3.10.7.1), opens connections,
 * binds ports, answers SYNs with SYN cookies while a listener's SYN queue is
 * full (RFC 4987 §3.6), runs connection timers, and reports state changes
 * and retransmissions for observability.
 */
import { IoError } from "../../error.js";
import type { Poll } from "../../poll/poll.js";
import { SocketAddr } from "../../net/socket-addr.js";
import type { Random } from "../../random.js";
import { isUnspecified, sameIp } from "../iface/cidr.js";
import type { Interface } from "../iface/interface.js";
import type { Counters } from "../stats.js";
import { IpProtocol, TcpFlags, TcpPacket, emitTcp, type TcpOptions } from "../wire/index.js";
import { DEFAULT_CONFIG, OUR_WSCALE, TcpConnection, type TcpConfig, type TcpHost, type TcpState } from "./connection.js";
import { IsnGenerator } from "./isn.js";
import { VirtualTcpListener, type ListenerHost } from "./listener.js";
import { seqAdd } from "./seq.js";
import { VirtualTcpStream } from "./socket.js";
import { ConnectionTable } from "./table.js";
import { COOKIE_MAX_AGE, COOKIE_TICK_MS, SynCookies, cookieMss, decodeTsOptions, encodeTsOptions, type FourTuple } from "./syn-cookie.js";
import { MAX_PENDING_FORWARDS, type TcpForwardRequest } from "../forward.js";

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** mio's listen backlog */
const BACKLOG = 1024;
/** Linux tcp_max_syn_backlog default */
const SYN_BACKLOG = 256;
/** How long after its last cookie a listener still checks ACKs for cookies (Linux: the cookie lifetime) */
const COOKIE_CHECK_MS = (COOKIE_MAX_AGE + 1) * COOKIE_TICK_MS;

/** Observability callbacks of the stack. */
export interface TcpEvents {
  state(conn: TcpConnection, from: TcpState, to: TcpState): void;
  retransmit(conn: TcpConnection, seq: number, length: number): void;
}

/** A forwarding stack's TCP side (see forward.ts): the handler, and how to send ICMP about a SYN's datagram. */
export interface TcpForwarding {
  offer(request: TcpForwardRequest): void;
  unreachable(packet: Uint8Array, how: "unreachable" | "prohibited"): void;
}

export class TcpLayer implements TcpHost, ListenerHost {
  private readonly conns = new ConnectionTable();
  /** connections that may have a timer armed: the only ones timer scans visit */
  private readonly timed = new Set<TcpConnection>();
  private readonly listeners: VirtualTcpListener[] = [];
  private readonly halfOpen = new Map<TcpConnection, VirtualTcpListener>();
  private readonly ownAddresses = new Map<string, Uint8Array>();
  private readonly seg = new TcpPacket();
  private readonly isn: IsnGenerator;
  private readonly cookies: SynCookies;
  /** the Poll that drives the stack (set by the Stack) */
  poll: Poll | undefined = undefined;
  /** the earliest timer of the connections (see {@link deadline}); undefined: not known */
  private earliest: number | null | undefined = undefined;
  /** SYNs offered for forwarding and not yet decided, by four-tuple */
  private readonly pendingForwards = new Set<string>();
  readonly config: TcpConfig;

  constructor(
    private readonly iface: Interface,
    private readonly counters: Counters,
    private readonly clock: () => number,
    private readonly random: Random,
    private readonly events: TcpEvents,
    config: Partial<TcpConfig> = {},
    private readonly forwarding: TcpForwarding | null = null,
  ) {
    this.config = checkConfig({ ...DEFAULT_CONFIG, ...config });
    this.isn = new IsnGenerator(random);
    this.cookies = new SynCookies(random);
  }

  now(): number {
    return this.clock();
  }

  // ---- sockets --------------------------------------------------------------

  /** Listens on `addr`; `backlog` (internal, for tests) bounds the accept queue. */
  bind(addr: SocketAddr, backlog = BACKLOG): VirtualTcpListener {
    const ip = addr.ipBytes();
    if (!isUnspecified(ip) && !this.iface.isLocal(ip)) throw new IoError("EADDRNOTAVAIL", undefined, "bind");
    let port = addr.port;
    if (port === 0) port = this.freePort(ip);
    else if (this.portInUse(ip, port)) throw new IoError("EADDRINUSE", undefined, "bind");
    const l = new VirtualTcpListener(this, SocketAddr.fromBytes(ip, port), backlog, SYN_BACKLOG);
    this.listeners.push(l);
    return l;
  }

  /**
   * Starts an active open to `addr` from an ephemeral port, or from
   * `localPort` (internal, for tests such as a simultaneous open;
   * EADDRINUSE when a listener or connection holds it).
   */
  connect(addr: SocketAddr, localPort?: number): VirtualTcpStream {
    const remote = addr.ipBytes();
    if (addr.port === 0 || isUnspecified(remote)) throw new IoError("ECONNREFUSED", undefined, "connect");
    const local = this.iface.sourceFor(remote);
    if (localPort !== undefined && (!Number.isInteger(localPort) || localPort < 1 || localPort > 65535)) {
      throw new IoError("EINVAL", `bad local port ${localPort}`, "connect");
    }
    if (localPort !== undefined && this.portInUse(local, localPort)) throw new IoError("EADDRINUSE", undefined, "connect");
    return this.activeOpen(this.ownAddress(local), localPort ?? this.freePort(local), addr);
  }

  /**
   * Starts an active open to `addr` from `from`, an address that need not be
   * ours (a forwarding stack speaking for a host behind it, as with
   * IP_TRANSPARENT). EADDRINUSE when that four-tuple is taken.
   */
  connectFrom(from: SocketAddr, addr: SocketAddr): VirtualTcpStream {
    const remote = addr.ipBytes();
    const local = from.ipBytes();
    if (addr.port === 0 || isUnspecified(remote)) throw new IoError("ECONNREFUSED", undefined, "connect");
    if (from.port === 0 || isUnspecified(local)) throw new IoError("EINVAL", "the source needs an address and a port", "connect");
    if (local.length !== remote.length) throw new IoError("EAFNOSUPPORT", undefined, "connect");
    if (!this.iface.routable(remote)) throw new IoError("ENETUNREACH", undefined, "connect");
    if (this.conns.get(local, from.port, remote, addr.port) !== undefined) throw new IoError("EADDRINUSE", undefined, "connect");
    return this.activeOpen(local.slice(), from.port, addr);
  }

  private activeOpen(local: Uint8Array, port: number, addr: SocketAddr): VirtualTcpStream {
    const remote = addr.ipBytes();
    const now = this.now();
    const c = new TcpConnection(this, local, port, remote.slice(), addr.port, this.config, this.random.u32());
    c.setMss(this.mssFor(remote));
    const stream = new VirtualTcpStream(this, c);
    this.conns.add(c);
    c.open(this.isn.next(local, port, remote, addr.port, now), now);
    return stream;
  }

  private newConnection(local: Uint8Array, port: number, remote: Uint8Array, remotePort: number): TcpConnection {
    return new TcpConnection(this, this.ownAddress(local), port, remote.slice(), remotePort, this.config, this.random.u32());
  }

  /** One shared copy of each of our own addresses (a bounded set) for the connections to point at. */
  private ownAddress(ip: Uint8Array): Uint8Array {
    const k = ip.join(".");
    let a = this.ownAddresses.get(k);
    if (a === undefined) this.ownAddresses.set(k, (a = ip.slice()));
    return a;
  }

  private portInUse(ip: Uint8Array, port: number): boolean {
    const overlap = (other: Uint8Array): boolean =>
      other.length === ip.length && (isUnspecified(ip) || isUnspecified(other) || sameIp(ip, other));
    if (this.listeners.some((l) => l.local.port === port && overlap(l.local.ipBytes()))) return true;
    return this.conns.onLocalPort(port).some((c) => overlap(c.local));
  }

  private freePort(ip: Uint8Array): number {
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    const start = this.random.int(span);
    for (let i = 0; i < span; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % span);
      if (!this.portInUse(ip, port)) return port;
    }
    throw new IoError("EADDRNOTAVAIL", "no free ephemeral port", "connect");
  }

  /** Our MSS toward `remote`: the path MTU minus IP and TCP headers (RFC 9293 §3.7.1). */
  private mssFor(remote: Uint8Array): number {
    return this.iface.pathMtu(remote) - (remote.length === 4 ? 40 : 60);
  }

  // ---- arriving segments ------------------------------------------------------

  /**
   * A segment from `src` to `dst`; `checksumVerified`: the device vouched
   * for its checksum; `packet`: the IP datagram that carried it (for ICMP
   * about a forwarded SYN).
   */
  receive(src: Uint8Array, dst: Uint8Array, segment: Uint8Array, checksumVerified = false, packet?: Uint8Array): void {
    // receiving may arm timers (a delayed ACK, a retransmission)
    this.earliest = undefined;
    const seg = this.seg.reset(segment);
    const r = seg.check(src, dst, checksumVerified);
    if (!r.ok) return this.counters.drop(`tcp:${r.reason}`);
    const now = this.now();
    const c = this.conns.get(dst, seg.dstPort, src, seg.srcPort);
    if (c !== undefined) {
      const l = this.halfOpen.get(c);
      if (l !== undefined && seg.ack && !seg.syn && !seg.rst && !l.canAccept()) {
        // Linux (tcp_abort_on_overflow off): the ACK completing a handshake is dropped
        // while the accept queue is full; the peer's retransmission completes it later
        return this.counters.drop("tcp:accept-queue-full");
      }
      c.receive(seg, now);
      return this.timerArmed(c);
    }
    const l = this.listenerFor(dst, seg.dstPort);
    if (l !== null && seg.syn && !seg.ack && !seg.rst) return this.passiveOpen(l, seg, src, dst, now);
    if (l === null && this.forwarding !== null && seg.syn && !seg.ack && !seg.rst) {
      return this.offerForward(this.forwarding, segment, src, dst, packet ?? segment);
    }
    if (l !== null && !seg.rst && !seg.syn && seg.ack) {
      if (now - l.lastCookieAt <= COOKIE_CHECK_MS) return this.cookieOpen(l, seg, src, dst, now);
      // an ACK for a half-open connection the listener no longer has (RFC 9293 §3.10.7.2)
      return this.resetFor(seg, src, dst);
    }
    // LISTEN, "fourth" (RFC 9293 §3.10.7.2): anything else without ACK is dropped, unanswered
    if (l !== null && !seg.ack && !seg.syn) return this.counters.drop("tcp:listen-no-ack");
    if (!seg.rst) {
      this.counters.drop("tcp:no-socket");
      this.resetFor(seg, src, dst);
    }
  }

  private listenerFor(dst: Uint8Array, port: number): VirtualTcpListener | null {
    let wildcard: VirtualTcpListener | null = null;
    for (const l of this.listeners) {
      if (l.local.port !== port) continue;
      const ip = l.local.ipBytes();
      if (ip.length !== dst.length) continue;
      if (sameIp(ip, dst)) return l;
      // a forwarding stack takes segments to any address: a wildcard listens on its own ones only
      if (isUnspecified(ip) && this.iface.isLocal(dst)) wildcard = l;
    }
    return wildcard;
  }

  private passiveOpen(l: VirtualTcpListener, syn: TcpPacket, src: Uint8Array, dst: Uint8Array, now: number): void {
    // Linux tcp_conn_request: no new request while the accept queue is full, cookie or not
    if (!l.canAccept()) return this.counters.drop("tcp:accept-queue-full");
    if (!l.canTakeSyn()) return this.sendCookie(l, syn, src, dst, now);
    const c = this.newConnection(dst, syn.dstPort, src, syn.srcPort);
    c.ttl = l.childTtl();
    this.conns.add(c);
    l.synQueue.add(c);
    this.halfOpen.set(c, l);
    c.accept(syn, this.isn.next(dst, syn.dstPort, src, syn.srcPort, now), this.mssFor(src), now);
  }

  /**
   * The stateless SYN-ACK of a full SYN queue: our ISN is the cookie; with
   * timestamps, our TSval carries the SYN's window scale and SACK-permitted,
   * otherwise the connection does without them (like Linux, the SYN-ACK then
   * offers only the MSS).
   */
  private sendCookie(l: VirtualTcpListener, syn: TcpPacket, src: Uint8Array, dst: Uint8Array, now: number): void {
    const t: FourTuple = { local: dst, localPort: syn.dstPort, remote: src, remotePort: syn.srcPort };
    const family = src.length === 4 ? 4 : 6;
    const iss = this.cookies.make(t, syn.seqNumber, syn.mss, now);
    const mss = Math.min(cookieMss(family, syn.mss), this.mssFor(src));
    const options: TcpOptions = { mss };
    if (syn.hasTimestamps) {
      const wscale = syn.windowScale;
      options.tsVal = encodeTsOptions((Math.floor(now) + this.cookies.tsOffset(t)) >>> 0, { windowScale: wscale, sackPermitted: syn.sackPermitted });
      options.tsEcr = syn.tsVal;
      if (syn.sackPermitted) options.sackPermitted = true;
      if (wscale >= 0) options.windowScale = OUR_WSCALE;
    }
    const h = {
      srcPort: syn.dstPort,
      dstPort: syn.srcPort,
      seqNumber: iss,
      ackNumber: seqAdd(syn.seqNumber, 1),
      flags: TcpFlags.SYN | TcpFlags.ACK,
      window: Math.min(this.config.recvBuffer, 0xffff),
      options,
    };
    const from = dst.slice();
    const to = src.slice();
    const n = emitTcp(this.segmentBuffer(family), h, 0, from, to);
    l.lastCookieAt = now;
    this.counters.tcpEvent("syn-cookie-sent");
    this.sendSegment(from, to, n, l.childTtl());
  }

  /**
   * An ACK for a listener without a connection, while the listener sends
   * cookies: a valid cookie opens the connection straight in ESTABLISHED and
   * queues it for accept (if the accept queue has room; else the ACK is
   * dropped and the peer's retransmission tries again); a bad one gets a RST.
   */
  private cookieOpen(l: VirtualTcpListener, seg: TcpPacket, src: Uint8Array, dst: Uint8Array, now: number): void {
    const t: FourTuple = { local: dst, localPort: seg.dstPort, remote: src, remotePort: seg.srcPort };
    const iss = seqAdd(seg.ackNumber, -1);
    const mss = this.cookies.check(t, seqAdd(seg.seqNumber, -1), iss, now);
    if (mss < 0) {
      this.counters.drop("tcp:syn-cookie-bad");
      return this.resetFor(seg, src, dst);
    }
    if (!l.canAccept()) return this.counters.drop("tcp:accept-queue-full");
    this.counters.tcpEvent("syn-cookie-ok");
    const opts = seg.hasTimestamps ? decodeTsOptions(seg.tsEcr) : { windowScale: -1, sackPermitted: false };
    const c = new TcpConnection(this, this.ownAddress(dst), seg.dstPort, src.slice(), seg.srcPort, this.config, this.cookies.tsOffset(t));
    c.ttl = l.childTtl();
    this.conns.add(c);
    // reaching ESTABLISHED (below) moves it to the listener's accept queue, see stateChanged
    this.halfOpen.set(c, l);
    c.acceptCookie(seg, iss, { ...opts, mss: Math.min(mss, this.mssFor(src)), timestamps: seg.hasTimestamps }, now);
  }

  /**
   * Offers a SYN that nobody listens for to the forwarding handler (see
   * forward.ts). The SYN and its datagram are copied: the decision may come
   * later, from outside the stack's poll. Its retransmissions are dropped
   * until then.
   */
  private offerForward(forwarding: TcpForwarding, segment: Uint8Array, src: Uint8Array, dst: Uint8Array, packet: Uint8Array): void {
    const seg = this.seg;
    const key = `${src.join(",")}/${seg.srcPort}>${dst.join(",")}/${seg.dstPort}`;
    if (this.pendingForwards.has(key)) return this.counters.drop("tcp:forward-pending");
    if (this.pendingForwards.size >= MAX_PENDING_FORWARDS) return this.counters.drop("tcp:forward-queue-full");
    this.pendingForwards.add(key);
    const syn = segment.slice();
    const datagram = packet.slice();
    const local = dst.slice();
    const remote = src.slice();
    const localAddr = SocketAddr.fromBytes(local, seg.dstPort);
    const remoteAddr = SocketAddr.fromBytes(remote, seg.srcPort);
    const decide = (what: string): TcpPacket => {
      if (!this.pendingForwards.delete(key)) throw new IoError("EINVAL", "the connection request was already decided", what);
      // checked on arrival: this parses its options again
      const s = new TcpPacket().reset(syn);
      s.check(remote, local, true);
      return s;
    };
    forwarding.offer({
      local: localAddr,
      remote: remoteAddr,
      accept: () => {
        const s = decide("accept");
        if (this.conns.get(local, s.dstPort, remote, s.srcPort) !== undefined) throw new IoError("EADDRINUSE", undefined, "accept");
        const now = this.now();
        const c = new TcpConnection(this, local, s.dstPort, remote, s.srcPort, this.config, this.random.u32());
        this.conns.add(c);
        const stream = new VirtualTcpStream(this, c);
        c.accept(s, this.isn.next(local, s.dstPort, remote, s.srcPort, now), this.mssFor(remote), now);
        return stream;
      },
      refuse: (how = "reset") => {
        const s = decide("refuse");
        if (how === "reset") this.resetFor(s, remote, local);
        else if (how === "unreachable" || how === "prohibited") forwarding.unreachable(datagram, how);
        else throw new TypeError(`refuse: "reset", "unreachable" or "prohibited", got ${String(how)}`);
      },
    });
  }

  /** RFC 9293 §3.10.7.1: the reset for a segment that belongs to no connection. */
  private resetFor(seg: TcpPacket, src: Uint8Array, dst: Uint8Array): void {
    const buf = this.segmentBuffer(src.length === 4 ? 4 : 6);
    const len = seg.payload.length + (seg.syn ? 1 : 0) + (seg.fin ? 1 : 0);
    const h = seg.ack
      ? { srcPort: seg.dstPort, dstPort: seg.srcPort, seqNumber: seg.ackNumber, ackNumber: 0, flags: TcpFlags.RST, window: 0 }
      : { srcPort: seg.dstPort, dstPort: seg.srcPort, seqNumber: 0, ackNumber: seqAdd(seg.seqNumber, len), flags: TcpFlags.RST | TcpFlags.ACK, window: 0 };
    const from = dst.slice();
    const to = src.slice();
    const n = emitTcp(buf, h, 0, from, to);
    this.sendSegment(from, to, n, 64);
  }

  // ---- timers -------------------------------------------------------------------

  /** Runs the timers that are due; forgets connections left without one. */
  onTimers(now: number): void {
    const known = this.earliest;
    if (known !== undefined && (known === null || known > now)) return;
    this.earliest = undefined;
    for (const c of this.timed) {
      const d = c.deadline();
      if (d !== null && d <= now) c.onTimer(now);
      if (c.deadline() === null) this.timed.delete(c);
    }
  }

  /** The earliest timer of any connection, or null. */
  deadline(): number | null {
    if (this.earliest !== undefined) return this.earliest;
    let next: number | null = null;
    for (const c of this.timed) {
      const d = c.deadline();
      if (d === null) this.timed.delete(c);
      else if (next === null || d < next) next = d;
    }
    return (this.earliest = next);
  }

  /**
   * A connection armed a timer. Every arming passes here (or happens while
   * a segment is received, see {@link receive}): the only ways a deadline
   * moves earlier, so the cached earliest one is dropped. A timer that
   * moves later or stops leaves it early, which costs one look too many.
   */
  timerArmed(c: TcpConnection): void {
    this.earliest = undefined;
    if (c.state !== "CLOSED") this.timed.add(c);
  }

  // ---- TcpHost / ListenerHost -------------------------------------------------

  segmentBuffer(family: 4 | 6): Uint8Array {
    return this.iface.payloadBuffer(family);
  }

  sendSegment(src: Uint8Array, dst: Uint8Array, length: number, ttl: number): void {
    try {
      this.iface.send(src, dst, IpProtocol.Tcp, length, ttl, true);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      this.counters.drop(`tcp:send-${e.code}`);
    }
  }

  stateChanged(c: TcpConnection, from: TcpState, to: TcpState): void {
    this.events.state(c, from, to);
    const l = this.halfOpen.get(c);
    if (l !== undefined && to !== "SYN-RECEIVED") {
      this.halfOpen.delete(c);
      l.synQueue.delete(c);
      if (to === "ESTABLISHED" && !l.established(c)) {
        this.counters.drop("tcp:accept-queue-full");
        c.abort(this.now());
      }
    }
    if (to === "CLOSED") {
      this.conns.delete(c);
      this.timed.delete(c);
    }
  }

  retransmitted(c: TcpConnection, seq: number, length: number): void {
    this.events.retransmit(c, seq, length);
  }

  listenerClosed(l: VirtualTcpListener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
    const now = this.now();
    for (const c of l.held()) c.abort(now);
  }

  /**
   * An ICMP error quoting a segment we sent (`quoted`: its TCP header), as
   * Linux's tcp_v4_err / tcp_v6_err take it. "Fragmentation needed" and
   * "Packet Too Big" (EMSGSIZE) concern the path MTU, which the ICMP layer
   * has lowered: the connection cuts its segments to fit
   * ({@link TcpConnection.pathMtuReduced}) and never fails for it. A
   * listener's half-open connection is dropped, silently, when the error
   * quotes its SYN-ACK and says the peer cannot be reached (Linux
   * tcp_req_err); any other connection decides in {@link TcpConnection.icmpError}.
   */
  icmpError(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, quoted: Uint8Array, errno: string): void {
    this.earliest = undefined;
    const c = this.conns.get(local, localPort, remote, remotePort);
    if (c === undefined) return this.counters.drop("tcp:icmp-no-socket");
    const seq = ((quoted[4]! << 24) | (quoted[5]! << 16) | (quoted[6]! << 8) | quoted[7]!) >>> 0;
    if (errno === "EMSGSIZE") {
      // the path MTU went down (the ICMP layer has learned it): a connection still in the SYN queue waits for its ACK
      if (!this.halfOpen.has(c)) c.pathMtuReduced(seq, this.mssFor(remote), this.now());
      return;
    }
    if (this.halfOpen.has(c)) {
      if (seq === c.iss && (errno === "ENETUNREACH" || errno === "EHOSTUNREACH" || errno === "EPROTO")) c.setState("CLOSED");
      return;
    }
    c.icmpError(seq, errno);
  }

  /** Connections by state, for stats and tests. */
  connections(): TcpConnection[] {
    return [...this.conns.values()];
  }
}

/** Validates TCP settings given to a Stack; throws `TypeError` naming the bad one. */
function checkConfig(c: TcpConfig): TcpConfig {
  const positive = (name: keyof TcpConfig, min: number): void => {
    const v = c[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new TypeError(`tcp.${name} must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  positive("sendBuffer", 1024);
  positive("recvBuffer", 1024);
  positive("timeWaitMs", 0);
  positive("synRetries", 0);
  positive("synAckRetries", 0);
  positive("finTimeoutMs", 0);
  positive("retries", 0);
  positive("delayedAckMs", 0);
  positive("connectTimeoutMs", 0);
  positive("keepaliveIdleMs", 1);
  positive("keepaliveIntervalMs", 1);
  positive("keepaliveCount", 1);
  if (c.congestion !== "cubic" && c.congestion !== "newreno") {
    throw new TypeError(`tcp.congestion must be "cubic" or "newreno", got ${String(c.congestion)}`);
  }
  return c;
}
