/**
 * The stack's TCP: demultiplexes arriving segments to connections and
 * listeners (RST for closed ports, RFC 9293 §3.10.7.1), opens connections,
 * binds ports, runs connection timers, and reports state changes and
 * retransmissions for observability.
 */
import { IoError } from "../../error.js";
import { SocketAddr } from "../../net/socket-addr.js";
import type { Random } from "../../random.js";
import { isUnspecified, sameIp } from "../iface/cidr.js";
import type { Interface } from "../iface/interface.js";
import type { Counters } from "../stats.js";
import { IpProtocol, TcpFlags, TcpPacket, emitTcp } from "../wire/index.js";
import { DEFAULT_CONFIG, TcpConnection, type TcpConfig, type TcpHost, type TcpState } from "./connection.js";
import { IsnGenerator } from "./isn.js";
import { VirtualTcpListener, type ListenerHost } from "./listener.js";
import { seqAdd } from "./seq.js";
import { VirtualTcpStream } from "./socket.js";

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** mio's listen backlog */
const BACKLOG = 1024;
/** Linux tcp_max_syn_backlog default */
const SYN_BACKLOG = 256;

/** Observability callbacks of the stack. */
export interface TcpEvents {
  state(conn: TcpConnection, from: TcpState, to: TcpState): void;
  retransmit(conn: TcpConnection, seq: number, length: number): void;
}

export class TcpLayer implements TcpHost, ListenerHost {
  private readonly conns = new Map<string, TcpConnection>();
  private readonly listeners: VirtualTcpListener[] = [];
  private readonly halfOpen = new Map<TcpConnection, VirtualTcpListener>();
  private readonly seg = new TcpPacket();
  private readonly isn: IsnGenerator;
  readonly config: TcpConfig;

  constructor(
    private readonly iface: Interface,
    private readonly counters: Counters,
    private readonly clock: () => number,
    private readonly random: Random,
    private readonly events: TcpEvents,
    config: Partial<TcpConfig> = {},
  ) {
    this.config = checkConfig({ ...DEFAULT_CONFIG, ...config });
    this.isn = new IsnGenerator(random);
  }

  now(): number {
    return this.clock();
  }

  // ---- sockets --------------------------------------------------------------

  bind(addr: SocketAddr): VirtualTcpListener {
    const ip = addr.ipBytes();
    if (!isUnspecified(ip) && !this.iface.isLocal(ip)) throw new IoError("EADDRNOTAVAIL", undefined, "bind");
    let port = addr.port;
    if (port === 0) port = this.freePort(ip);
    else if (this.portInUse(ip, port)) throw new IoError("EADDRINUSE", undefined, "bind");
    const l = new VirtualTcpListener(this, SocketAddr.fromBytes(ip, port), BACKLOG, SYN_BACKLOG);
    this.listeners.push(l);
    return l;
  }

  connect(addr: SocketAddr): VirtualTcpStream {
    const remote = addr.ipBytes();
    if (addr.port === 0 || isUnspecified(remote)) throw new IoError("ECONNREFUSED", undefined, "connect");
    const local = this.iface.sourceFor(remote);
    const port = this.freePort(local);
    const now = this.now();
    const c = this.newConnection(local, port, remote, addr.port);
    c.setMss(this.mssFor(remote));
    const stream = new VirtualTcpStream(this, c, SocketAddr.fromBytes(local, port), addr);
    this.conns.set(key(local, port, remote, addr.port), c);
    c.open(this.isn.next(local, port, remote, addr.port, now), now);
    return stream;
  }

  private newConnection(local: Uint8Array, port: number, remote: Uint8Array, remotePort: number): TcpConnection {
    return new TcpConnection(this, local.slice(), port, remote.slice(), remotePort, this.config, this.random.u32());
  }

  private portInUse(ip: Uint8Array, port: number): boolean {
    const overlap = (other: Uint8Array): boolean =>
      other.length === ip.length && (isUnspecified(ip) || isUnspecified(other) || sameIp(ip, other));
    if (this.listeners.some((l) => l.local.port === port && overlap(l.local.ipBytes()))) return true;
    for (const c of this.conns.values()) if (c.localPort === port && overlap(c.local)) return true;
    return false;
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
    const mtu = this.iface.isLocal(remote) ? 65535 : this.iface.mtu;
    return mtu - (remote.length === 4 ? 40 : 60);
  }

  // ---- arriving segments ------------------------------------------------------

  receive(src: Uint8Array, dst: Uint8Array, segment: Uint8Array): void {
    const seg = this.seg.reset(segment);
    const r = seg.check(src, dst);
    if (!r.ok) return this.counters.drop(`tcp:${r.reason}`);
    const now = this.now();
    const c = this.conns.get(key(dst, seg.dstPort, src, seg.srcPort));
    if (c !== undefined) return c.receive(seg, now);
    const l = this.listenerFor(dst, seg.dstPort);
    if (l !== null && seg.syn && !seg.ack && !seg.rst) return this.passiveOpen(l, seg, src, dst, now);
    if (l !== null && !seg.rst && !seg.syn && seg.ack) {
      // an ACK for a half-open connection the listener no longer has (RFC 9293 §3.10.7.2)
      return this.resetFor(seg, src, dst);
    }
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
      if (isUnspecified(ip)) wildcard = l;
    }
    return wildcard;
  }

  private passiveOpen(l: VirtualTcpListener, syn: TcpPacket, src: Uint8Array, dst: Uint8Array, now: number): void {
    if (!l.canTakeSyn()) return this.counters.drop("tcp:syn-queue-full");
    const c = this.newConnection(dst, syn.dstPort, src, syn.srcPort);
    c.ttl = l.childTtl();
    this.conns.set(key(dst, syn.dstPort, src, syn.srcPort), c);
    l.synQueue.add(c);
    this.halfOpen.set(c, l);
    c.accept(syn, this.isn.next(dst, syn.dstPort, src, syn.srcPort, now), this.mssFor(src), now);
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

  onTimers(now: number): void {
    for (const c of this.conns.values()) {
      const d = c.deadline();
      if (d !== null && d <= now) c.onTimer(now);
    }
  }

  deadline(): number | null {
    let next: number | null = null;
    for (const c of this.conns.values()) {
      const d = c.deadline();
      if (d !== null && (next === null || d < next)) next = d;
    }
    return next;
  }

  // ---- TcpHost / ListenerHost -------------------------------------------------

  segmentBuffer(family: 4 | 6): Uint8Array {
    return this.iface.payloadBuffer(family);
  }

  sendSegment(src: Uint8Array, dst: Uint8Array, length: number, ttl: number): void {
    try {
      this.iface.send(src, dst, IpProtocol.Tcp, length, ttl);
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
      this.conns.delete(key(c.local, c.localPort, c.remote, c.remotePort));
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

  /** Connections by state, for stats and tests. */
  connections(): TcpConnection[] {
    return [...this.conns.values()];
  }
}

/** The demultiplexing key of a connection. */
function key(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): string {
  return `${localPort}|${remotePort}|${remote.join(".")}|${local.join(".")}`;
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
  positive("retries", 0);
  positive("delayedAckMs", 0);
  if (c.congestion !== "cubic" && c.congestion !== "newreno") {
    throw new TypeError(`tcp.congestion must be "cubic" or "newreno", got ${String(c.congestion)}`);
  }
  return c;
}
