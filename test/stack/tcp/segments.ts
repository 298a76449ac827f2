/**
 * Segment-level TCP tests: the test plays the peer of one connection by hand
 * on the wire of a {@link wireWorld}, feeding hand-built segments to the
 * Stack and checking the exact segments that come out, the way smoltcp's
 * tcp.rs tests do.
 *
 * Numbers are relative, as in `tcpdump`'s default output: sequence numbers
 * the stack sends count from the stack's ISS (learned from its first SYN),
 * acknowledgment numbers it sends count from the peer's ISS, and the other
 * way round for what the peer sends. The stack's TSval reads as the virtual
 * time in ms at which it was sent (its random offset is learned from its
 * first segment with timestamps); a TSecr the peer sends is in those units
 * too (raw before the stack sent any timestamp, so a SYN's 0 stays 0).
 *
 * Time moves only in {@link SegmentPeer.advance}, which runs the stack timer
 * by timer and stamps every segment with the time it left. The stack's seed
 * is fixed, so every run sends the same segments.
 */
import { WOULD_BLOCK } from "../../../src/error.js";
import { SocketAddr } from "../../../src/net/socket-addr.js";
import type { Stack } from "../../../src/stack/stack.js";
import type { TcpConfig } from "../../../src/stack/tcp/connection.js";
import type { VirtualTcpListener } from "../../../src/stack/tcp/listener.js";
import type { VirtualTcpStream } from "../../../src/stack/tcp/socket.js";
import { IpProtocol, TcpFlags, TcpPacket, emitTcp, tcpHeaderLength, type TcpOptions } from "../../../src/stack/wire/index.js";
import { PEER4, PEER6, US4, US6, ip, ipv4, ipv6, wireWorld, type WireWorld } from "../helpers.js";

/** Options of a segment, present keys only (so `toEqual` checks absence too). */
export interface Opts {
  mss?: number;
  wscale?: number;
  sackPermitted?: true;
  /** TSval and TSecr (see the module comment for their units) */
  ts?: { val: number; ecr: number };
  /** SACK blocks [left, right), relative to the ISS of the data's sender */
  sack?: Array<[number, number]>;
}

/** A segment as a plain record: flags like `"SYN|ACK"`, relative seq/ack, the raw window field. */
export interface Seg {
  flags: string;
  seq: number;
  ack: number;
  window: number;
  options: Opts;
  /** payload bytes */
  len: number;
}

/** A segment the stack sent, with when it left, its ports and its payload. */
export interface Out {
  at: number;
  srcPort: number;
  dstPort: number;
  seg: Seg;
  data: Uint8Array;
}

/** A segment for the peer to send; seq and ack default to what the peer has sent and received so far. */
export interface SegIn {
  flags: string;
  seq?: number;
  ack?: number;
  /** the raw window field; default 65535 */
  window?: number;
  /** default: none, or only timestamps once they are negotiated (TSval = peer clock, TSecr = last TSval seen) */
  options?: Opts;
  /** payload bytes, or a length of pattern bytes */
  data?: Uint8Array | number;
  /** a port other than the connection's (segments for closed ports) */
  dstPort?: number;
}

/** A {@link Seg} for `toEqual`. */
export function seg(flags: string, seq: number, ack: number, window: number, options: Opts = {}, len = 0): Seg {
  return { flags, seq, ack, window, options, len };
}

const FLAG_NAMES: Array<[string, number]> = [
  ["FIN", TcpFlags.FIN],
  ["SYN", TcpFlags.SYN],
  ["RST", TcpFlags.RST],
  ["PSH", TcpFlags.PSH],
  ["ACK", TcpFlags.ACK],
  ["URG", TcpFlags.URG],
  ["ECE", TcpFlags.ECE],
  ["CWR", TcpFlags.CWR],
];

/** `"SYN|ACK"` → the flags byte; `""` is no flag. */
function flagBits(s: string): number {
  let bits = 0;
  for (const name of s.split("|")) {
    if (name === "") continue;
    const f = FLAG_NAMES.find(([n]) => n === name);
    if (!f) throw new Error(`unknown TCP flag ${name}`);
    bits |= f[1];
  }
  return bits;
}

/** The flags byte → `"FIN|ACK"` (lowest bit first). */
function flagNames(bits: number): string {
  return FLAG_NAMES.filter(([, b]) => (bits & b) !== 0)
    .map(([n]) => n)
    .join("|");
}

/** Payload byte `i` of the peer's data (by absolute stream offset, so retransmissions carry the same bytes). */
export function peerByte(i: number): number {
  return (i * 131 + 7) & 0xff;
}

const rel = (x: number, base: number): number => (x - base) >>> 0;
const abs = (x: number, base: number): number => (x + base) >>> 0;

export interface PeerOptions {
  family?: 4 | 6;
  /** link MTU (default 1500) */
  mtu?: number;
  /** TCP settings of the stack */
  tcp?: Partial<TcpConfig>;
  /** the peer's ISS (default 0x1000_0000) */
  iss?: number;
}

/** The stack's seed: fixed, so ISNs, ports and timestamp offsets are the same every run. */
const SEED = 1;
/** The stack's port for passive opens, and the peer's port. */
const LISTEN_PORT = 80;
const PEER_PORT = 40000;

/** Most timer firings one {@link SegmentPeer.advance} may run at a single instant. */
const MAX_STEPS_AT_ONCE = 1000;

/**
 * The hand-driven peer of one TCP connection: a Stack (10.0.0.2 / fd00::2)
 * on one end of a Link, the test on the other (10.0.0.1 / fd00::1).
 */
export class SegmentPeer {
  readonly w: WireWorld;
  readonly stack: Stack;
  readonly family: 4 | 6;
  readonly peerIp: string;
  readonly stackIp: string;
  readonly peerPort: number;
  /** the stack's port (learned from its SYN for an active open) */
  port: number;
  /** the peer's ISS: base of the sequence numbers it sends */
  readonly iss: number;
  /** the stack's ISS, once seen (base of the sequence numbers it sends) */
  stackIss: number | null = null;
  /** the stack's timestamp offset, once seen */
  tsBase: number | null = null;
  /** whether the peer's and the stack's SYN carried timestamps (both: the peer adds them by default) */
  private peerSynTs = false;
  private stackSynTs = false;
  /** the peer's TSval is `now + peerTsOffset` */
  peerTsOffset = 5000;
  /** last TSval the stack sent (raw) */
  private lastTsVal = 0;
  /** relative: the peer's next sequence number, and what it has received from the stack */
  sndNxt = 0;
  rcvNxt = 0;
  private readonly log: Out[] = [];
  private readonly view = new TcpPacket();

  constructor(o: PeerOptions = {}) {
    this.family = o.family ?? 4;
    this.w = wireWorld({ link: { mtu: o.mtu ?? 1500 }, stack: { seed: SEED, tcp: o.tcp } });
    this.stack = this.w.stack;
    this.peerIp = this.family === 4 ? PEER4 : PEER6;
    this.stackIp = this.family === 4 ? US4 : US6;
    this.peerPort = PEER_PORT;
    this.port = LISTEN_PORT;
    this.iss = (o.iss ?? 0x1000_0000) >>> 0;
  }

  /** Virtual time, ms. */
  now(): number {
    return this.w.clock.now();
  }

  /** `ip:port` of the stack's side in this family. */
  stackAddr(): string {
    return this.family === 4 ? `${this.stackIp}:${this.port}` : `[${this.stackIp}]:${this.port}`;
  }

  /** `ip:port` of the peer. */
  peerAddr(): string {
    return this.family === 4 ? `${this.peerIp}:${this.peerPort}` : `[${this.peerIp}]:${this.peerPort}`;
  }

  /** A listener on the stack's port. */
  listen(): VirtualTcpListener {
    return this.stack.tcpBind(this.stackAddr());
  }

  /** The stack connects to the peer (active open); its SYN is left in {@link recv}. */
  connect(): VirtualTcpStream {
    const s = this.stack.tcpConnect(this.peerAddr());
    this.port = s.localAddr().port;
    this.poll();
    return s;
  }

  // ---- the peer sends ---------------------------------------------------------

  /** Builds `s` as an IP packet from the peer (see {@link SegIn} for the defaults). */
  private build(s: SegIn): Uint8Array {
    const flags = flagBits(s.flags);
    const data = typeof s.data === "number" ? this.peerData(s.seq ?? this.sndNxt, s.data) : (s.data ?? new Uint8Array(0));
    const seq = s.seq ?? this.sndNxt;
    const ack = (flags & TcpFlags.ACK) !== 0 || s.ack !== undefined ? abs(s.ack ?? this.rcvNxt, this.stackIss ?? 0) : 0;
    const options = this.wireOptions(s.options ?? (this.tsOn() && (flags & TcpFlags.RST) === 0 ? { ts: { val: this.peerTsVal(), ecr: this.lastTsEcr() } } : {}));
    const hl = tcpHeaderLength(options);
    const buf = new Uint8Array(hl + data.length);
    buf.set(data, hl);
    const src = ip(this.peerIp);
    const dst = ip(this.stackIp);
    emitTcp(
      buf,
      { srcPort: this.peerPort, dstPort: s.dstPort ?? this.port, seqNumber: abs(seq, this.iss), ackNumber: ack, flags, window: s.window ?? 65535, options },
      data.length,
      src,
      dst,
    );
    if (s.dstPort === undefined) {
      if (flags & TcpFlags.SYN) this.peerSynTs = s.options?.ts !== undefined;
      const end = (seq + data.length + (flags & TcpFlags.SYN ? 1 : 0) + (flags & TcpFlags.FIN ? 1 : 0)) >>> 0;
      if (((end - this.sndNxt) | 0) > 0) this.sndNxt = end;
    }
    return this.family === 4 ? ipv4({ src: this.peerIp, dst: this.stackIp, protocol: IpProtocol.Tcp }, buf) : ipv6(this.peerIp, this.stackIp, IpProtocol.Tcp, buf);
  }

  /** Sends `s` and lets the stack process it at the current time. */
  send(...segs: SegIn[]): void {
    for (const s of segs) this.w.inject(this.build(s));
    this.poll();
  }

  /** {@link send}, then what the stack sent in reply. */
  exchange(s: SegIn): Seg[] {
    this.send(s);
    return this.recv();
  }

  /** `n` bytes of the peer's pattern starting at relative sequence number `seq` (stream offset seq − 1). */
  private peerData(seq: number, n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = peerByte(seq - 1 + i);
    return b;
  }

  /** Whether timestamps were negotiated (both SYNs carried them). */
  tsOn(): boolean {
    return this.peerSynTs && this.stackSynTs;
  }

  private peerTsVal(): number {
    return (Math.floor(this.now()) + this.peerTsOffset) >>> 0;
  }

  /** The last TSval seen from the stack, in the stack's units (ms). */
  private lastTsEcr(): number {
    return this.tsBase === null ? 0 : rel(this.lastTsVal, this.tsBase);
  }

  private wireOptions(o: Opts): TcpOptions {
    const out: TcpOptions = {};
    if (o.mss !== undefined) out.mss = o.mss;
    if (o.wscale !== undefined) out.windowScale = o.wscale;
    if (o.sackPermitted) out.sackPermitted = true;
    if (o.ts) {
      out.tsVal = o.ts.val >>> 0;
      out.tsEcr = this.tsBase === null ? o.ts.ecr >>> 0 : abs(o.ts.ecr, this.tsBase);
    }
    if (o.sack) out.sackBlocks = o.sack.flatMap(([l, r]) => [abs(l, this.stackIss ?? 0), abs(r, this.stackIss ?? 0)]);
    return out;
  }

  // ---- the stack sends ----------------------------------------------------------

  /** Runs the stack once at the current time and collects what it sent. */
  poll(): void {
    this.stack.poll(this.now());
    this.collect();
  }

  /**
   * Moves virtual time forward `ms`, running the stack at each of its
   * deadlines on the way (so every segment is stamped with the exact time it
   * was sent), and at the end.
   */
  advance(ms: number): void {
    this.advanceTo(this.now() + ms);
  }

  /** {@link advance} to the absolute time `t`. */
  advanceTo(t: number): void {
    // what socket calls sent since the last poll left at the current time
    this.collect();
    const clock = this.w.clock;
    let last = -1;
    let same = 0;
    for (;;) {
      const next = this.stack.pollAt();
      const at = next === null || next > t ? t : Math.max(next, clock.now());
      if (at === last && ++same > MAX_STEPS_AT_ONCE) throw new Error(`advance: the stack keeps asking to run at ${at} ms`);
      if (at !== last) same = 0;
      last = at;
      clock.advanceTo(at);
      this.poll();
      if (at >= t && (this.stack.pollAt() ?? Infinity) > t) return;
    }
  }

  /** Everything the stack sent since the last call, stamped and with payloads. */
  take(): Out[] {
    this.collect();
    return this.log.splice(0);
  }

  /** The segments the stack sent since the last call. */
  recv(): Seg[] {
    return this.take().map((o) => o.seg);
  }

  /** Parses every packet that reached the peer's end of the wire. */
  private collect(): void {
    const at = this.now();
    for (const p of this.w.sent()) {
      if (p.protocol !== IpProtocol.Tcp) throw new Error(`the stack sent a non-TCP packet (protocol ${p.protocol}) to the peer`);
      const t = this.view.reset(p.l4);
      const r = t.check(ip(p.src), ip(p.dst));
      if (!r.ok) throw new Error(`the stack sent a bad TCP segment: ${r.reason}`);
      const mine = t.dstPort === this.peerPort && t.srcPort === this.port;
      if (mine && t.syn) {
        if (this.stackIss === null) this.stackIss = t.seqNumber;
        this.stackSynTs = t.hasTimestamps;
      }
      if (t.hasTimestamps) {
        if (this.tsBase === null) this.tsBase = (t.tsVal - Math.floor(at)) >>> 0;
        if (mine) this.lastTsVal = t.tsVal;
      }
      const options: Opts = {};
      if (t.mss >= 0) options.mss = t.mss;
      if (t.windowScale >= 0) options.wscale = t.windowScale;
      if (t.sackPermitted) options.sackPermitted = true;
      if (t.hasTimestamps) options.ts = { val: rel(t.tsVal, this.tsBase ?? 0), ecr: t.tsEcr };
      if (t.sackCount > 0) {
        options.sack = [];
        for (let i = 0; i < t.sackCount; i++) options.sack.push([rel(t.sackLeft(i), this.iss), rel(t.sackRight(i), this.iss)]);
      }
      const base = mine ? (this.stackIss ?? 0) : 0;
      const s: Seg = {
        flags: flagNames(t.flags),
        seq: rel(t.seqNumber, base),
        ack: t.ack ? rel(t.ackNumber, this.iss) : t.ackNumber,
        window: t.window,
        options,
        len: t.payload.length,
      };
      if (mine && !t.rst) {
        const end = (s.seq + s.len + (t.syn ? 1 : 0) + (t.fin ? 1 : 0)) >>> 0;
        if (t.syn || ((end - this.rcvNxt) | 0) > 0) this.rcvNxt = end;
      }
      this.log.push({ at, srcPort: t.srcPort, dstPort: t.dstPort, seg: s, data: t.payload.slice() });
    }
  }

  // ---- handshakes ------------------------------------------------------------------

  /**
   * Passive open: a listener on the stack, the peer's SYN with `options`
   * (window `window`), the SYN-ACK, the peer's ACK; returns the accepted
   * stream and the SYN-ACK. Leaves nothing in {@link recv}.
   */
  passiveOpen(options: Opts = {}, window = 65535, listener = this.listen()): { stream: VirtualTcpStream; synAck: Seg; listener: VirtualTcpListener } {
    this.send({ flags: "SYN", seq: 0, window, options });
    const out = this.recv();
    const synAck = out[0];
    if (out.length !== 1 || synAck === undefined || synAck.flags !== "SYN|ACK") throw new Error(`expected one SYN-ACK, got ${JSON.stringify(out)}`);
    this.send({ flags: "ACK", seq: 1, ack: 1, window });
    const extra = this.recv();
    if (extra.length !== 0) throw new Error(`the handshake ACK drew ${JSON.stringify(extra)}`);
    const r = listener.accept();
    if (r === WOULD_BLOCK) throw new Error("the listener has no connection after the handshake");
    return { stream: r[0], synAck, listener };
  }

  /**
   * Active open: the stack connects, the peer answers the SYN with a SYN-ACK
   * carrying `options`, the stack ACKs; returns the stream and the stack's SYN.
   */
  activeOpen(options: Opts = {}, window = 65535): { stream: VirtualTcpStream; syn: Seg } {
    const stream = this.connect();
    const out = this.recv();
    const syn = out[0];
    if (out.length !== 1 || syn === undefined || syn.flags !== "SYN") throw new Error(`expected one SYN, got ${JSON.stringify(out)}`);
    this.send({ flags: "SYN|ACK", seq: 0, ack: 1, window, options });
    const ack = this.recv();
    if (ack.length !== 1 || ack[0]!.flags !== "ACK") throw new Error(`expected the handshake ACK, got ${JSON.stringify(ack)}`);
    return { stream, syn };
  }

  /** The state of the stack's connection with this peer, or "CLOSED" when it is gone. */
  state(): string {
    const key = `${this.stackAddr()} -> ${SocketAddr.parse(this.peerAddr()).toString()}`;
    return this.stack.tcpStats()[key]?.state ?? "CLOSED";
  }
}
