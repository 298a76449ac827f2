/**
 * The TCP control block and state machine (RFC 9293 §3.3.2, §3.10): one
 * connection's sequence variables, buffers, options and timers, the handling
 * of arriving segments (§3.10.7) and the decision of what to send next.
 * Knows nothing about sockets or devices: it talks to its {@link TcpHost}.
 */
import { C } from "../../native.js";
import type { TcpKeepalive } from "../../net/keepalive.js";
import { TcpFlags, emitTcp, tcpHeaderLength, type TcpOptions, type TcpPacket } from "../wire/index.js";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from "./seq.js";
import { RingBuffer } from "./ring-buffer.js";
import { Assembler } from "./assembler.js";
import { NextSeg, SackScoreboard } from "./scoreboard.js";
import { RtoEstimator } from "./rto.js";
import { createCongestionControl } from "./congestion/index.js";
import type { CongestionControl, CongestionName } from "./congestion/controller.js";

/** The connection states of RFC 9293 §3.3.2. */
export type TcpState =
  | "CLOSED"
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT";

/** What a connection needs from its stack. */
export interface TcpHost {
  /** The buffer to write a segment into (at offset 0); then {@link sendSegment}. */
  segmentBuffer(family: 4 | 6): Uint8Array;
  sendSegment(src: Uint8Array, dst: Uint8Array, length: number, ttl: number): void;
  /** The connection changed state (for observability and cleanup). */
  stateChanged(conn: TcpConnection, from: TcpState, to: TcpState): void;
  /** A segment was retransmitted. */
  retransmitted(conn: TcpConnection, seq: number, length: number): void;
  /** The connection may have armed a timer: {@link TcpConnection.deadline} is worth asking. */
  timerArmed(conn: TcpConnection): void;
}

/** Tunables of a connection. */
export interface TcpConfig {
  sendBuffer: number;
  recvBuffer: number;
  congestion: CongestionName;
  /** 2·MSL for TIME-WAIT, ms (Linux: 60 s) */
  timeWaitMs: number;
  /** SYN retransmissions before ETIMEDOUT (Linux tcp_syn_retries: 6) */
  synRetries: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (Linux tcp_synack_retries: 5) */
  synAckRetries: number;
  /** how long a closed socket waits in FIN-WAIT-2 for the peer's FIN, ms (Linux tcp_fin_timeout: 60 s) */
  finTimeoutMs: number;
  /** data retransmissions before ETIMEDOUT (Linux tcp_retries2: 15) */
  retries: number;
  /** the delayed-ACK timeout, ms (Linux: 40 ms minimum) */
  delayedAckMs: number;
  /**
   * A connect that is not established after this many ms fails with
   * ETIMEDOUT; 0 leaves it to `synRetries` alone (Linux's behaviour).
   */
  connectTimeoutMs: number;
  /** keepalive defaults for a socket that turns keepalive on (Linux tcp_keepalive_time: 7200 s) */
  keepaliveIdleMs: number;
  /** between unanswered keepalive probes (Linux tcp_keepalive_intvl: 75 s) */
  keepaliveIntervalMs: number;
  /** unanswered probes before ETIMEDOUT (Linux tcp_keepalive_probes: 9) */
  keepaliveCount: number;
}


export const DEFAULT_CONFIG: TcpConfig = {
  sendBuffer: 256 * 1024,
  recvBuffer: 256 * 1024,
  congestion: "cubic",
  timeWaitMs: 60_000,
  synRetries: 6,
  synAckRetries: 5,
  finTimeoutMs: 60_000,
  retries: 15,
  delayedAckMs: 40,
  connectTimeoutMs: 0,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveCount: 9,
};

const EPOLLIN = C.EPOLLIN;
const EPOLLOUT = C.EPOLLOUT;
const EPOLLERR = C.EPOLLERR;
const EPOLLHUP = C.EPOLLHUP;
const EPOLLRDHUP = C.EPOLLRDHUP;
const { FIN, SYN, RST, PSH, ACK } = TcpFlags;
/** Linux's window scale for a 6 MiB tcp_rmem maximum */
export const OUR_WSCALE = 7;
const DUP_THRESH = 3;
const QUICKACKS = 16;
const MAX_WINDOW = 0x3fffffff;
const OUT_OF_WINDOW_ACK_MS = 500;
/** scratch of {@link TcpConnection.ackOptions}, shared: used at once by every caller */
const ACK_OPTIONS: TcpOptions = {};
const SACK_BLOCKS: number[] = [];
/** bytes of the timestamps option with its padding (RFC 7323 §3, Appendix A) */
const TIMESTAMP_OPTION = 12;

/** Per-connection counters for teaching and debugging. */
export interface TcpStats {
  state: TcpState;
  /** the congestion control algorithm ("cubic" or "newreno") */
  congestion: string;
  cwnd: number;
  ssthresh: number;
  srtt: number;
  rttvar: number;
  rto: number;
  bytesIn: number;
  bytesOut: number;
  retransmits: number;
  /** bytes the peer reported in SACK blocks (RFC 2018), each counted once */
  sackedBytes: number;
  mss: number;
}

export class TcpConnection {
  state: TcpState = "CLOSED";
  readonly family: 4 | 6;
  // send sequence space (RFC 9293 §3.3.1)
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** highest sequence number sent + 1 */
  sndMax = 0;
  sndWnd = 0;
  /** the largest window the peer ever offered (RFC 9293 §3.8.6.2.1 "Max(SND.WND)") */
  private maxSndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** sequence number of the first byte in sndBuf */
  private dataSeq = 0;
  // receive sequence space
  irs = 0;
  rcvNxt = 0;
  /** the right edge we advertised */
  private rcvAdv = 0;
  private lastAckSent = 0;
  // options
  mss = 536;
  /** the MSS we announce in our SYN: what the route lets us receive (RFC 9293 §3.7.1) */
  private ourMss = 536;
  /** opened by a listener (SYN-ACK retries apply) */
  private passive = false;
  /** end of the last segment sent shorter than the MSS (Linux snd_sml, for Minshall's Nagle) */
  private smallEnd: number | null = null;
  /** where an out-of-order FIN sits, until the data before it arrives */
  private finAt: number | null = null;
  private sndWscale = 0;
  private rcvWscale = 0;
  private tsOk = false;
  private tsRecent = 0;
  private tsOffset: number;
  private sackOk = false;
  /** what the peer's SACK blocks say it holds (RFC 6675); made on the first block */
  private sb: SackScoreboard | null = null;
  // buffers
  readonly sndBuf: RingBuffer;
  readonly rcvBuf: RingBuffer;
  private readonly assembler = new Assembler();
  // closing
  private finQueued = false;
  private finSent = false;
  private finSeq = 0;
  /** the peer's FIN arrived: no more data will */
  peerFin = false;
  /** shutdown("read") */
  readShut = false;
  /** the socket was closed: nobody will read what arrives (see {@link orphaned}) */
  private orphan = false;
  // control
  readonly rto = new RtoEstimator();
  /** made again once the handshake fixed the MSS */
  cc: CongestionControl;
  private retxDeadline: number | null = null;
  private retxCount = 0;
  private ackDeadline: number | null = null;
  private ackNow = false;
  private quickAcks = QUICKACKS;
  private unackedSegments = 0;
  private waitDeadline: number | null = null;
  private persistDeadline: number | null = null;
  private persistBackoff = 0;
  private dupAcks = 0;
  private lastOutOfWindowAck = -Infinity;
  private inRecovery = false;
  /** RecoveryPoint (RFC 6675) / "recover" (RFC 6582): SND.MAX when the last recovery or timeout began */
  private recover: number | null = null;
  private inflation = 0;
  private rttSeq: number | null = null;
  private rttStart = 0;
  noDelay = false;
  ttl = 64;
  /** errno name of a pending error (ECONNRESET, ...) */
  error: string | null = null;
  /** an ICMP error reported only if the connection later times out (Linux sk_err_soft) */
  private softError: string | null = null;
  /** keepalive settings, null when off (the default) */
  keepalive: TcpKeepalive | null = null;
  private keepaliveDeadline: number | null = null;
  private probesOut = 0;
  private connectDeadline: number | null = null;
  /** set when the connection reached ESTABLISHED at least once */
  established = false;
  retransmits = 0;
  sackedBytes = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** called on readiness changes (epoll bits of the wake-up) */
  onWake: (bits: number) => void = () => {};

  constructor(
    private readonly host: TcpHost,
    readonly local: Uint8Array,
    readonly localPort: number,
    readonly remote: Uint8Array,
    readonly remotePort: number,
    readonly config: TcpConfig,
    tsOffset: number,
  ) {
    this.family = local.length === 4 ? 4 : 6;
    this.sndBuf = new RingBuffer(config.sendBuffer);
    this.rcvBuf = new RingBuffer(config.recvBuffer);
    this.tsOffset = tsOffset;
    this.mss = this.family === 4 ? 536 : 1220;
    this.cc = createCongestionControl(config.congestion, { mss: this.mss });
  }

  // ---- user side ----------------------------------------------------------

  /** Active open (RFC 9293 §3.10.1): send a SYN. */
  open(iss: number, now: number): void {
    this.iss = iss;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.dataSeq = seqAdd(iss, 1);
    if (this.config.connectTimeoutMs > 0) this.connectDeadline = now + this.config.connectTimeoutMs;
    this.setState("SYN-SENT");
    this.output(now);
  }

  /** Passive open on an arriving SYN (§3.10.7.2): reply SYN-ACK. */
  accept(syn: TcpPacket, iss: number, ourMss: number, now: number): void {
    this.iss = iss;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.dataSeq = seqAdd(iss, 1);
    this.irs = syn.seqNumber;
    this.rcvNxt = seqAdd(this.irs, 1);
    this.ourMss = ourMss;
    this.passive = true;
    this.takeSynOptions(syn, ourMss);
    this.sndWnd = syn.window;
    this.sndWl1 = syn.seqNumber;
    this.sndWl2 = syn.ackNumber;
    this.setState("SYN-RECEIVED");
    this.output(now);
  }

  /**
   * Passive open from a SYN cookie (RFC 4987 §3.6): `ack` completes a
   * handshake whose SYN-ACK (sequence number `iss`) the listener sent
   * without keeping state; `syn` is what the cookie kept of the peer's SYN
   * options (`mss` already limited to ours). Starts ESTABLISHED, then
   * processes `ack` (and any data or FIN it carries) as an established
   * connection would.
   */
  acceptCookie(
    ack: TcpPacket,
    iss: number,
    syn: { mss: number; windowScale: number; sackPermitted: boolean; timestamps: boolean },
    now: number,
  ): void {
    this.iss = iss;
    this.sndUna = iss;
    this.sndNxt = seqAdd(iss, 1);
    this.sndMax = this.sndNxt;
    this.dataSeq = this.sndNxt;
    this.irs = seqAdd(ack.seqNumber, -1);
    this.rcvNxt = ack.seqNumber;
    this.lastAckSent = this.rcvNxt;
    this.mss = Math.max(64, syn.mss);
    this.passive = true;
    if (syn.windowScale >= 0) {
      this.sndWscale = Math.min(syn.windowScale, 14);
      this.rcvWscale = OUR_WSCALE;
    }
    this.sackOk = syn.sackPermitted;
    if (syn.timestamps && ack.hasTimestamps) {
      this.tsOk = true;
      this.tsRecent = ack.tsVal;
    }
    this.cc = createCongestionControl(this.config.congestion, { mss: this.mss - (this.tsOk ? TIMESTAMP_OPTION : 0) });
    // the cookie SYN-ACK offered an unscaled window of the free buffer
    this.rcvAdv = seqAdd(this.rcvNxt, Math.min(this.receiveWindow(), 0xffff));
    this.sndWl1 = this.irs;
    this.sndWl2 = iss;
    this.setEstablished();
    this.receive(ack, now);
  }

  /** Queues bytes; returns how many fit (0: the send buffer is full). */
  write(src: Uint8Array, now: number): number {
    const n = this.sndBuf.write(src);
    if (n > 0) this.output(now);
    return n;
  }

  /**
   * Queues the buffers in order, as far as they fit, then sends: like one
   * sendmsg, the bytes of several small buffers can leave in one segment.
   */
  writev(srcs: readonly Uint8Array[], now: number): number {
    let total = 0;
    for (const src of srcs) {
      const n = this.sndBuf.write(src);
      total += n;
      if (n < src.length) break;
    }
    if (total > 0) this.output(now);
    return total;
  }

  /** Reads received bytes; returns how many. */
  read(dst: Uint8Array, now: number, peek = false): number {
    if (peek) return this.rcvBuf.peek(dst, 0);
    const n = this.rcvBuf.read(dst);
    if (n > 0) this.consumed(now);
    return n;
  }

  /** Reads into the buffers in order (one recvmsg: at most one window update); returns how many. */
  readv(dsts: readonly Uint8Array[], now: number): number {
    let total = 0;
    for (const dst of dsts) {
      const n = this.rcvBuf.read(dst);
      total += n;
      if (n < dst.length) break;
    }
    if (total > 0) this.consumed(now);
    return total;
  }

  /** The application took bytes from the receive buffer: maybe a window update. */
  private consumed(now: number): void {
    if (this.state !== "CLOSED" && !this.peerFin) {
      // a window update once the window can at least double (Linux tcp_cleanup_rbuf), moving its
      // right edge by at least min(half the buffer, one MSS) (RFC 9293 §3.8.6.2.2)
      const offered = seqDiff(this.rcvAdv, this.rcvNxt);
      const largest = Math.min(this.rcvBuf.capacity, 0xffff << this.rcvWscale);
      const next = Math.min(this.advertisedWindow(), largest);
      if (2 * offered <= largest && next > offered && next >= 2 * offered) {
        this.ackNow = true;
        this.output(now);
      }
    }
  }

  /**
   * The socket was closed: nobody will read. A connection already in
   * FIN-WAIT-2 waits for the peer's FIN only `finTimeoutMs` more (Linux
   * tcp_fin_timeout), so a peer that never closes cannot pin it.
   */
  orphaned(now: number): void {
    this.orphan = true;
    if (this.state === "FIN-WAIT-2") this.waitDeadline = now + this.config.finTimeoutMs;
    this.host.timerArmed(this);
  }

  /** shutdown("write") / close(): send FIN after the queued data. */
  shutdownWrite(now: number): void {
    if (this.finQueued) return;
    switch (this.state) {
      case "SYN-SENT":
        this.setState("CLOSED");
        return;
      case "ESTABLISHED":
      case "SYN-RECEIVED":
        this.finQueued = true;
        this.setState("FIN-WAIT-1");
        break;
      case "CLOSE-WAIT":
        this.finQueued = true;
        this.setState("LAST-ACK");
        break;
      default:
        return;
    }
    this.output(now);
  }

  /** Aborts: RST to the peer (when synchronized) and CLOSED. */
  abort(now: number): void {
    if (this.state !== "CLOSED" && this.state !== "SYN-SENT" && this.state !== "TIME-WAIT") {
      this.sendControl(RST | ACK, this.sndMax, now);
    }
    this.setState("CLOSED");
  }

  // ---- readiness ------------------------------------------------------------

  /** What Linux's tcp_poll reports for this connection, as epoll bits. */
  readiness(writeShut: boolean): number {
    const s = this.state;
    let bits = 0;
    const closed = s === "CLOSED";
    const rcvShut = this.peerFin || this.readShut || closed;
    const sndShut = writeShut || closed;
    if (rcvShut && sndShut) bits |= EPOLLHUP;
    if (rcvShut) bits |= EPOLLIN | EPOLLRDHUP;
    if (s !== "SYN-SENT" && s !== "SYN-RECEIVED") {
      if (this.rcvBuf.length > 0) bits |= EPOLLIN;
      if (sndShut || this.writable()) bits |= EPOLLOUT;
    }
    if (this.error !== null) bits |= EPOLLERR;
    return bits;
  }

  /** Linux's sk_stream_is_writeable: free space at least half of what is queued. */
  writable(): boolean {
    const free = this.sndBuf.free;
    return free > 0 && free >= this.sndBuf.length / 2;
  }

  // ---- arriving segments (RFC 9293 §3.10.7) ---------------------------------

  /** Processes one segment addressed to this connection. */
  receive(seg: TcpPacket, now: number): void {
    if (this.state === "SYN-SENT") return this.receiveInSynSent(seg, now);
    if (this.state === "CLOSED") return;
    if (this.state === "SYN-RECEIVED" && seg.syn && !seg.rst && seg.seqNumber === this.irs) return this.synAgain(seg, now);
    if (this.state === "TIME-WAIT" && seg.fin && !seg.rst && !seg.syn && seqAdd(seg.seqNumber, seg.payload.length + 1) === this.rcvNxt) {
      // the peer did not get our last ACK: ACK again and restart 2·MSL (RFC 9293 §3.10.7.4)
      this.ackNow = true;
      this.enterTimeWait(now);
      return this.output(now);
    }
    const len = seg.payload.length + (seg.syn ? 1 : 0) + (seg.fin ? 1 : 0);
    // PAWS (RFC 7323 §5)
    if (this.tsOk && seg.hasTimestamps && !seg.rst && seqLt(seg.tsVal, this.tsRecent)) {
      return len > 0 && !seg.syn ? this.sendAck(now) : this.outOfWindowAck(now);
    }
    // first: sequence number acceptability (§3.10.7.4)
    if (!this.acceptable(seg.seqNumber, len)) {
      if (seg.rst) return;
      // only segments without data are rate-limited: they could be an ACK loop (Linux tcp_oow_rate_limited)
      return len > 0 && !seg.syn ? this.sendAck(now) : this.outOfWindowAck(now);
    }
    if (this.keepalive !== null) this.heardFrom(now);
    // second: RST (RFC 5961 §3.2)
    if (seg.rst) {
      if (seg.seqNumber === this.rcvNxt) return this.reset(now);
      return this.outOfWindowAck(now); // challenge ACK
    }
    // fourth: SYN in a synchronized state (RFC 5961 §4)
    if (seg.syn) return this.outOfWindowAck(now);
    // fifth: ACK
    if (!seg.ack) return;
    if (this.tsOk && seg.hasTimestamps && seqLe(seg.seqNumber, this.lastAckSent)) this.tsRecent = seg.tsVal;
    if (this.state === "SYN-RECEIVED") {
      if (!(seqLt(this.sndUna, seg.ackNumber) && seqLe(seg.ackNumber, this.sndMax))) {
        this.sendControl(RST, seg.ackNumber, now);
        return;
      }
      this.setEstablished();
    }
    if (!this.processAck(seg, now)) return;
    const data = seg.payload;
    // Linux tcp_rcv_state_process: new data for a FIN-WAIT socket whose reading side is closed resets it
    if (data.length > 0 && (this.orphan || this.readShut) && (this.state === "FIN-WAIT-1" || this.state === "FIN-WAIT-2")) {
      if (seqGt(seqAdd(seg.seqNumber, data.length), this.rcvNxt)) {
        this.sendControl(RST | ACK, this.sndMax, now);
        this.setState("CLOSED");
        return;
      }
    }
    // seventh: segment text
    if (data.length > 0 && this.canReceive()) this.receiveData(seg.seqNumber, data, now);
    // eighth: FIN; one beyond a hole waits for the data before it
    if (seg.fin && !this.peerFin) {
      const end = seqAdd(seg.seqNumber, data.length);
      if (end === this.rcvNxt) this.receiveFin(now);
      else if (seqGt(end, this.rcvNxt) && this.canReceive() && seqDiff(end, this.rcvNxt) <= this.rcvBuf.free) this.finAt = end;
    }
    this.output(now);
  }

  /**
   * The peer's SYN again while we are in SYN-RECEIVED: a retransmitted SYN
   * (our SYN-ACK was lost) gets the SYN-ACK again; in a simultaneous open the
   * peer's SYN-ACK crossing ours acknowledges our SYN and establishes the
   * connection (RFC 9293 §3.5 Figure 8; Linux tcp_rcv_state_process).
   */
  private synAgain(seg: TcpPacket, now: number): void {
    if (!seg.ack) {
      this.sndNxt = this.iss;
      return this.output(now);
    }
    if (seg.ackNumber !== seqAdd(this.iss, 1)) return this.sendControl(RST, seg.ackNumber, now);
    this.sndWnd = seg.window;
    this.sndWl1 = seg.seqNumber;
    this.sndWl2 = seg.ackNumber;
    this.ackTo(seg.ackNumber, now);
    this.setEstablished();
    this.output(now);
  }

  private receiveInSynSent(seg: TcpPacket, now: number): void {
    const ackOk = seg.ack && seqGt(seg.ackNumber, this.iss) && seqLe(seg.ackNumber, this.sndMax);
    if (seg.ack && !ackOk) {
      if (!seg.rst) this.sendControl(RST, seg.ackNumber, now);
      return;
    }
    if (seg.rst) {
      if (ackOk) this.fail("ECONNREFUSED");
      return;
    }
    if (!seg.syn) return;
    this.irs = seg.seqNumber;
    this.rcvNxt = seqAdd(this.irs, 1);
    // nothing offered yet: the right edge starts at RCV.NXT (it moved only forward from 0,
    // which left a peer ISN in the upper half of the sequence space with a bogus window)
    this.rcvAdv = this.rcvNxt;
    this.takeSynOptions(seg, this.mss);
    this.sndWnd = seg.window;
    this.sndWl1 = seg.seqNumber;
    this.sndWl2 = seg.ackNumber;
    if (ackOk) {
      this.ackTo(seg.ackNumber, now, this.rttSample(seg, seg.ackNumber, now));
      this.setEstablished();
      this.ackNow = true;
    } else {
      this.setState("SYN-RECEIVED"); // simultaneous open (§3.5, Figure 8)
      this.sndNxt = this.iss;
    }
    this.output(now);
  }

  /** §3.10.7.4 "first": is any of the segment within the receive window? */
  private acceptable(seq: number, len: number): boolean {
    // the window we advertised (Linux tcp_receive_window), not the free buffer
    const wnd = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
    if (len === 0) return wnd === 0 ? seq === this.rcvNxt : seqLe(this.rcvNxt, seq) && seqLt(seq, seqAdd(this.rcvNxt, wnd)) || seq === this.rcvNxt;
    if (wnd === 0) return false;
    const end = seqAdd(seq, len - 1);
    const right = seqAdd(this.rcvNxt, wnd);
    return (seqLe(this.rcvNxt, seq) && seqLt(seq, right)) || (seqLe(this.rcvNxt, end) && seqLt(end, right));
  }

  /** The ACK field (§3.10.7.4 "fifth"). Returns false when the segment is to be dropped. */
  private processAck(seg: TcpPacket, now: number): boolean {
    const ack = seg.ackNumber;
    // RFC 5961 §5.2: an ACK of data never sent, or older than SND.UNA − MAX.SND.WND, is challenged
    if (seqGt(ack, this.sndMax) || seqLt(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.outOfWindowAck(now);
      return false;
    }
    const window = seg.window << this.sndWscale;
    const sacked = this.sackOk && seg.sackCount > 0 ? this.takeSack(seg, ack) : 0;
    if (seqGe(ack, this.sndUna)) this.softError = null; // Linux tcp_ack: something got through
    if (seqGt(ack, this.sndUna)) {
      this.ackTo(ack, now, this.rttSample(seg, ack, now));
    } else if (
      ack === this.sndUna &&
      seqGt(this.sndMax, this.sndUna) &&
      // RFC 6675 §2: with SACK, an ACK that SACKs new data is a duplicate even when it carries data
      (sacked > 0 || (seg.sackCount === 0 && seg.payload.length === 0 && !seg.fin && window === this.sndWnd))
    ) {
      this.duplicateAck(now);
    }
    // RFC 6675 §5 step 3: the SACKed data alone may show the first segment lost
    if (sacked > 0 && !this.inRecovery && this.sb!.isLost(this.sndUna)) this.enterRecovery(now);
    // window update (§3.10.7.4)
    if (seqLt(this.sndWl1, seg.seqNumber) || (this.sndWl1 === seg.seqNumber && seqLe(this.sndWl2, ack))) {
      const opened = window > this.sndWnd;
      this.sndWnd = Math.min(window, MAX_WINDOW);
      if (this.sndWnd > this.maxSndWnd) this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seqNumber;
      this.sndWl2 = ack;
      if (opened && this.sndWnd > 0) {
        this.persistDeadline = null;
        this.persistBackoff = 0;
      }
    }
    switch (this.state) {
      case "FIN-WAIT-1":
        if (this.finAcked()) {
          this.setState("FIN-WAIT-2");
          if (this.orphan) this.waitDeadline = now + this.config.finTimeoutMs;
        }
        break;
      case "CLOSING":
        if (this.finAcked()) this.enterTimeWait(now);
        break;
      case "LAST-ACK":
        if (this.finAcked()) {
          this.setState("CLOSED");
          return false;
        }
        break;
      case "TIME-WAIT":
        if (seg.fin) {
          this.ackNow = true;
          this.enterTimeWait(now);
        }
        break;
    }
    return true;
  }

  /** Whether the peer's window has room for the FIN's sequence number. */
  private finFits(): boolean {
    return seqDiff(this.sndNxt, this.sndUna) < this.sndWnd;
  }

  private finAcked(): boolean {
    return this.finSent && seqGt(this.sndUna, this.finSeq);
  }

  /** Cumulative acknowledgment of everything below `ack`; `rtt`: the sample it gave, if any. */
  private ackTo(ack: number, now: number, rtt: number | null = null): void {
    let acked = seqDiff(ack, this.sndUna);
    const flight = seqDiff(this.sndMax, this.sndUna);
    if (this.sndUna === this.iss) acked -= 1; // our SYN
    let data = Math.min(acked, this.sndBuf.length);
    if (data < 0) data = 0;
    this.sndBuf.consume(data);
    this.dataSeq = seqAdd(this.dataSeq, data);
    this.sndUna = ack;
    this.sb?.advance(ack);
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.bytesOut += data;
    this.retxCount = 0;
    this.dupAcks = 0;
    if (this.inRecovery) {
      if (seqGe(ack, this.recover!)) {
        this.inRecovery = false;
        this.inflation = 0;
        this.cc.onExitRecovery(seqDiff(this.sndMax, this.sndUna), now);
      } else {
        this.cc.onPartialAck(data);
        // with SACK, output() sends what the pipe allows (RFC 6675 §5 step C)
        if (this.sb === null) {
          this.inflation = Math.max(0, this.inflation - data) + this.mss;
          this.retransmit(this.sndUna, this.maxSegmentData(now), now);
        }
      }
    } else if (data > 0) {
      this.cc.onAck(data, rtt, flight, now);
    }
    this.retxDeadline = seqGt(this.sndMax, this.sndUna) ? now + this.rto.rto : null;
    if (data > 0) this.onWake(EPOLLOUT);
  }

  /** Takes an RTT sample from timestamps (RFC 7323 §4) or the timed segment (Karn); returns it. */
  private rttSample(seg: TcpPacket, ack: number, now: number): number | null {
    let rtt: number | null = null;
    if (this.tsOk && seg.hasTimestamps && seg.tsEcr !== 0) {
      rtt = (this.tsNow(now) - seg.tsEcr) >>> 0;
      if (rtt > 0x7fffffff) rtt = null;
    } else if (this.rttSeq !== null && seqGt(ack, this.rttSeq)) {
      rtt = now - this.rttStart;
    }
    if (this.rttSeq !== null && seqGt(ack, this.rttSeq)) this.rttSeq = null;
    if (rtt === null) return null;
    rtt = Math.max(rtt, 1);
    this.rto.sample(rtt);
    return rtt;
  }

  /** Records the SACK blocks of an ACK (RFC 6675 §4 Update); returns the bytes newly SACKed. */
  private takeSack(seg: TcpPacket, ack: number): number {
    const sb = (this.sb ??= new SackScoreboard(this.sndUna, this.mss));
    if (seqGt(ack, this.sndUna)) sb.advance(ack);
    let fresh = 0;
    for (let i = 0; i < seg.sackCount; i++) fresh += sb.addBlock(seg.sackLeft(i), seg.sackRight(i), this.sndMax);
    this.sackedBytes += fresh;
    return fresh;
  }

  /** RFC 5681 §3.2 / RFC 6675 §5: DupThresh duplicate ACKs start fast retransmit. */
  private duplicateAck(now: number): void {
    this.dupAcks++;
    if (this.inRecovery) {
      if (this.sb === null) this.inflation += this.mss; // RFC 6582 window inflation
      return;
    }
    if (this.dupAcks >= DUP_THRESH) this.enterRecovery(now);
  }

  /**
   * Fast retransmit and the start of loss recovery: RFC 6675 §5 step 4 when
   * the peer sends SACK blocks, RFC 6582 §3.2 step 2 (NewReno) otherwise. Not
   * again before the cumulative ACK reaches the previous recovery point.
   */
  private enterRecovery(now: number): void {
    if (this.inRecovery || (this.recover !== null && seqLt(this.sndUna, this.recover))) return;
    this.inRecovery = true;
    this.recover = this.sndMax;
    this.cc.onEnterRecovery(seqDiff(this.sndMax, this.sndUna), now);
    const maxData = this.maxSegmentData(now);
    if (this.sb !== null) {
      this.inflation = 0;
      this.sb.smss = maxData;
      this.sb.beginRecovery();
      this.retransmit(this.sndUna, Math.min(maxData, this.sb.holeAt(this.sndUna, this.sndMax)), now);
    } else {
      this.inflation = DUP_THRESH * this.mss;
      this.retransmit(this.sndUna, maxData, now);
    }
  }

  private receiveData(seq: number, data: Uint8Array, now: number): void {
    let offset = seqDiff(seq, this.rcvNxt);
    let bytes = data;
    if (offset < 0) {
      bytes = bytes.subarray(-offset);
      offset = 0;
    }
    const room = this.rcvBuf.free;
    if (offset >= room) {
      this.ackNow = true;
      return;
    }
    if (offset + bytes.length > room) bytes = bytes.subarray(0, room - offset);
    if (bytes.length === 0) return;
    this.rcvBuf.writeAt(offset, bytes);
    const holes = !this.assembler.isEmpty();
    const advanced = this.assembler.add(offset, bytes.length);
    if (advanced < 0) return; // too many holes: dropped, the peer will resend
    if (advanced > 0) {
      this.rcvBuf.commit(advanced);
      this.rcvNxt = seqAdd(this.rcvNxt, advanced);
      this.bytesIn += advanced;
      this.onWake(EPOLLIN);
      if (this.finAt !== null && this.rcvNxt === this.finAt) {
        this.finAt = null;
        this.receiveFin(now);
      }
    }
    if (offset > 0 || holes || !this.assembler.isEmpty()) {
      // out of order, or filling a hole: ACK at once (RFC 5681 §4.2)
      this.ackNow = true;
    } else {
      this.unackedSegments++;
      if (this.quickAcks > 0) {
        this.quickAcks--;
        this.ackNow = true;
      } else if (this.unackedSegments >= 2 || seqDiff(this.rcvNxt, this.lastAckSent) > this.mss) {
        // every second segment, or more than one full-sized segment's worth of bytes (RFC 5681
        // §4.2; Linux counts bytes: one 64 KiB segment a TUN's offload merged is ACKed at once)
        this.ackNow = true;
      } else if (this.ackDeadline === null) {
        this.ackDeadline = now + this.config.delayedAckMs;
      }
    }
  }

  private receiveFin(now: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.peerFin = true;
    this.ackNow = true;
    switch (this.state) {
      case "SYN-RECEIVED":
      case "ESTABLISHED":
        this.setState("CLOSE-WAIT");
        break;
      case "FIN-WAIT-1":
        if (this.finAcked()) this.enterTimeWait(now);
        else this.setState("CLOSING");
        break;
      case "FIN-WAIT-2":
        this.enterTimeWait(now);
        break;
    }
    this.onWake(EPOLLIN | EPOLLRDHUP);
  }

  private canReceive(): boolean {
    const s = this.state;
    return (s === "ESTABLISHED" || s === "FIN-WAIT-1" || s === "FIN-WAIT-2") && !this.peerFin;
  }

  // ---- output ---------------------------------------------------------------

  /** Sends what is due: SYN, data within the windows, FIN, ACKs. */
  output(now: number): void {
    const s = this.state;
    if (s === "CLOSED") return;
    if (s === "SYN-SENT" || s === "SYN-RECEIVED") {
      if (this.sndNxt === this.iss) this.sendSyn(now);
      else if (this.ackNow) this.sendAck(now);
      return this.host.timerArmed(this);
    }
    const maxData = this.maxSegmentData(now);
    let sent = this.inRecovery && this.sb !== null ? this.sendInRecovery(this.sb, maxData, now) : this.sendData(maxData, now);
    if (this.finQueued && !this.finSent && seqDiff(this.sndNxt, this.dataSeq) >= this.sndBuf.length && !this.finFits()) {
      // the FIN takes a sequence number: like data it waits for the peer's window (Linux tcp_snd_wnd_test)
      if (this.sndWnd === 0 && this.sndNxt === this.sndUna && this.persistDeadline === null) this.persistDeadline = now + this.rto.rto;
    } else if (this.finQueued && !this.finSent && seqDiff(this.sndNxt, this.dataSeq) >= this.sndBuf.length) {
      this.finSeq = this.sndNxt;
      this.finSent = true;
      this.sendControl(FIN | ACK, this.sndNxt, now);
      this.sndNxt = seqAdd(this.sndNxt, 1);
      this.sndMax = seqMax(this.sndMax, this.sndNxt);
      sent = true;
    } else if (this.finSent && this.sndNxt === this.finSeq && this.sndBuf.length === seqDiff(this.finSeq, this.dataSeq)) {
      // retransmission of the FIN after a timeout
      this.sendControl(FIN | ACK, this.sndNxt, now);
      this.sndNxt = seqAdd(this.sndNxt, 1);
      sent = true;
    }
    if (!sent && this.ackNow) this.sendAck(now);
    if (sent && this.retxDeadline === null) this.retxDeadline = now + this.rto.rto;
    this.host.timerArmed(this);
  }

  /**
   * RFC 6675 §5 step (C), loss recovery with SACK: while the estimated pipe
   * leaves room for a segment, send what NextSeg picks (a lost hole, new data,
   * or another unSACKed hole). Returns whether anything was sent.
   */
  private sendInRecovery(sb: SackScoreboard, maxData: number, now: number): boolean {
    sb.smss = maxData;
    let pipe = sb.pipe(this.sndMax);
    let sent = false;
    while (this.cc.cwnd - pipe >= maxData) {
      const unsent = this.sndBuf.length - seqDiff(this.sndMax, this.dataSeq);
      let sendable = Math.max(0, Math.min(unsent, this.sndWnd - seqDiff(this.sndMax, this.sndUna)));
      // Nagle: no runt of new data while a recovery has data outstanding
      if (sendable < maxData && !this.noDelay && !this.finQueued) sendable = 0;
      const kind = sb.nextSeg(this.sndMax, sendable);
      if (kind === NextSeg.None) break;
      if (kind === NextSeg.New) {
        this.sendSegment(this.sndMax, sb.segLen, sb.segLen === unsent, maxData, now);
        this.sndMax = seqAdd(this.sndMax, sb.segLen);
        this.sndNxt = this.sndMax;
      } else if (this.retransmit(sb.segSeq, sb.segLen, now) === 0) {
        break;
      }
      pipe += sb.segLen;
      sent = true;
    }
    return sent;
  }

  /**
   * Sends new data (or, after a timeout, data again from SND.NXT) within the
   * send and congestion windows, with Nagle. Returns whether anything was sent.
   */
  private sendData(maxData: number, now: number): boolean {
    let sent = false;
    for (;;) {
      const sb = this.sb;
      // after a timeout SND.NXT went back: this is data sent before
      const resending = seqLt(this.sndNxt, this.sndMax);
      if (resending && sb !== null) {
        // resend only what the peer's SACK blocks do not hold (RFC 6675 §5.1)
        const end = sb.sackedEnd(this.sndNxt);
        if (end !== this.sndNxt) {
          this.sndNxt = end;
          continue;
        }
      }
      const inFlight = seqDiff(this.sndNxt, this.sndUna) - (sb === null ? 0 : sb.sackedBelow(this.sndNxt));
      const window = Math.min(this.sndWnd, this.cc.cwnd + this.inflation);
      const offset = seqDiff(this.sndNxt, this.dataSeq);
      const unsent = this.sndBuf.length - offset;
      if (unsent <= 0) break;
      let size = Math.min(maxData, unsent, window - inFlight);
      if (resending && sb !== null) size = Math.min(size, sb.holeAt(this.sndNxt, this.sndMax));
      if (size <= 0) {
        if (this.sndWnd === 0 && inFlight === 0 && this.persistDeadline === null) {
          this.persistDeadline = now + this.rto.rto;
        }
        break;
      }
      if (size < maxData && !resending && size < unsent && (inFlight > 0 || size < this.maxSndWnd >>> 1)) {
        // sender-side silly window avoidance (RFC 9293 §3.8.6.2.1): a window that cuts a
        // segment short waits for ACKs that widen it, or for the override timeout
        if (inFlight === 0 && this.persistDeadline === null) this.persistDeadline = now + this.rto.rto;
        break;
      }
      // Nagle (RFC 896, RFC 9293 §3.7.4) as Linux has it (Minshall): hold a small last segment
      // while an earlier small one is unacknowledged; resent data is never held
      if (size < maxData && !resending && !this.noDelay && !this.finQueued && this.smallEnd !== null && seqGt(this.smallEnd, this.sndUna)) break;
      this.sendSegment(this.sndNxt, size, size === unsent, maxData, now);
      this.sndNxt = seqAdd(this.sndNxt, size);
      this.sndMax = seqMax(this.sndMax, this.sndNxt);
      sent = true;
    }
    return sent;
  }

  private sendSyn(now: number): void {
    const synAck = this.state === "SYN-RECEIVED";
    const opts: TcpOptions = { mss: this.ourMss, windowScale: OUR_WSCALE, sackPermitted: true };
    if (!synAck || this.tsOk) {
      opts.tsVal = this.tsNow(now);
      opts.tsEcr = synAck ? this.tsRecent : 0;
    }
    if (synAck) {
      if (!this.sackOk) opts.sackPermitted = false;
      if (this.rcvWscale === 0) delete opts.windowScale;
    }
    // Karn (RFC 6298 §3): only the first transmission is timed
    if (this.retxCount === 0 && this.rttSeq === null) {
      this.rttSeq = this.iss;
      this.rttStart = now;
    }
    this.emit(synAck ? SYN | ACK : SYN, this.iss, 0, opts, now);
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    if (this.retxDeadline === null) this.retxDeadline = now + this.rto.rto;
  }

  /** Sends `size` new bytes at `seq`; `maxData`: a full segment's size now. */
  private sendSegment(seq: number, size: number, push: boolean, maxData: number, now: number): void {
    if (size < maxData) this.smallEnd = seqAdd(seq, size);
    if (this.rttSeq === null && seq === this.sndNxt && seqGe(seq, this.sndMax)) {
      this.rttSeq = seq;
      this.rttStart = now;
    }
    this.emit(ACK | (push ? PSH : 0), seq, size, this.ackOptions(now), now);
  }

  /**
   * A challenge or duplicate ACK answering an unacceptable segment, at most
   * one per 500 ms (RFC 5961 §7; Linux tcp_invalid_ratelimit), so two ends
   * that disagree cannot trade ACKs forever.
   */
  private outOfWindowAck(now: number): void {
    if (now - this.lastOutOfWindowAck < OUT_OF_WINDOW_ACK_MS) return;
    this.lastOutOfWindowAck = now;
    this.sendAck(now);
  }

  /**
   * A pure ACK carries SND.MAX (Linux tcp_acceptable_seq): after a timeout
   * rewinds SND.NXT, the peer has already received up to SND.MAX and would
   * find an older sequence number unacceptable and drop the ACK.
   */
  private sendAck(now: number): void {
    this.emit(ACK, this.sndMax, 0, this.ackOptions(now), now);
  }

  /**
   * Data bytes a segment may carry: the MSS less the options it carries
   * (RFC 9293 §3.7.1, RFC 6691: the MSS excludes TCP options), so a
   * full-sized segment fits the MTU without fragmentation.
   */
  private maxSegmentData(now: number): number {
    return Math.max(1, this.mss - (tcpHeaderLength(this.ackOptions(now)) - 20));
  }

  /** A segment without data (RST, FIN). */
  private sendControl(flags: number, seq: number, now: number): void {
    this.emit(flags, seq, 0, flags & RST ? undefined : this.ackOptions(now), now);
  }

  /**
   * The options of a segment other than a SYN: timestamps, SACK blocks. The
   * object is shared by all connections and only valid until the next call
   * (it goes straight into {@link emit}): no allocation per segment.
   */
  private ackOptions(now: number): TcpOptions | undefined {
    const sack = this.sackOk && !this.assembler.isEmpty();
    if (!this.tsOk && !sack) return undefined;
    const o = ACK_OPTIONS;
    o.tsVal = this.tsOk ? this.tsNow(now) : undefined;
    o.tsEcr = this.tsOk ? this.tsRecent : undefined;
    if (sack) {
      const flat = this.assembler.sackBlocks(this.tsOk ? 3 : 4, SACK_BLOCKS);
      for (let i = 0; i < flat.length; i++) flat[i] = seqAdd(this.rcvNxt, flat[i]!);
      o.sackBlocks = flat;
    } else {
      o.sackBlocks = undefined;
    }
    return o;
  }

  /** Writes and sends one segment; `size` data bytes from the send buffer at `seq`. */
  private emit(flags: number, seq: number, size: number, options: TcpOptions | undefined, now: number): void {
    const buf = this.host.segmentBuffer(this.family);
    const hl = tcpHeaderLength(options);
    if (size > 0) this.sndBuf.peek(buf.subarray(hl, hl + size), seqDiff(seq, this.dataSeq));
    const ackFlag = (flags & ACK) !== 0;
    const window = flags & SYN ? Math.min(this.receiveWindow(), 0xffff) : Math.min(this.advertisedWindow() >>> this.rcvWscale, 0xffff);
    const n = emitTcp(
      buf,
      {
        srcPort: this.localPort,
        dstPort: this.remotePort,
        seqNumber: seq,
        ackNumber: ackFlag ? this.rcvNxt : 0,
        flags,
        window,
        options,
      },
      size,
      this.local,
      this.remote,
    );
    if (ackFlag) {
      this.lastAckSent = this.rcvNxt;
      const edge = seqAdd(this.rcvNxt, flags & SYN ? window : window << this.rcvWscale);
      if (flags & SYN || seqGt(edge, this.rcvAdv)) this.rcvAdv = edge;
      this.ackNow = false;
      this.ackDeadline = null;
      this.unackedSegments = 0;
    }
    void now;
    this.host.sendSegment(this.local, this.remote, n, this.ttl);
  }

  // ---- timers ---------------------------------------------------------------

  /** The earliest timer, or null. */
  deadline(): number | null {
    return earliest(
      earliest(earliest(this.retxDeadline, this.ackDeadline), earliest(this.waitDeadline, this.persistDeadline)),
      earliest(this.keepaliveDeadline, this.connectDeadline),
    );
  }

  /** Runs expired timers. */
  onTimer(now: number): void {
    if (this.waitDeadline !== null && now >= this.waitDeadline) {
      this.waitDeadline = null;
      this.setState("CLOSED");
      return;
    }
    if (this.ackDeadline !== null && now >= this.ackDeadline) {
      this.ackDeadline = null;
      this.ackNow = true;
      this.output(now);
    }
    if (this.connectDeadline !== null && now >= this.connectDeadline) {
      this.connectDeadline = null;
      if (this.state === "SYN-SENT") return this.fail("ETIMEDOUT");
    }
    if (this.retxDeadline !== null && now >= this.retxDeadline) this.retransmitTimeout(now);
    if (this.persistDeadline !== null && now >= this.persistDeadline) this.probe(now);
    if (this.keepaliveDeadline !== null && now >= this.keepaliveDeadline) this.keepaliveTimeout(now);
  }

  /** RFC 6298 §5.4–5.6: back off, retransmit from SND.UNA; give up after the retry limit. */
  private retransmitTimeout(now: number): void {
    const s = this.state;
    const limit =
      s === "SYN-RECEIVED" && this.passive ? this.config.synAckRetries : s === "SYN-SENT" || s === "SYN-RECEIVED" ? this.config.synRetries : this.config.retries;
    if (this.retxCount >= limit) return this.fail(this.softError ?? "ETIMEDOUT");
    this.retxCount++;
    // a second timeout at the same point: the receiver may have reneged on what it SACKed (RFC 2018 §8)
    if (this.sb !== null && this.retxCount >= 2) this.sb.clear(this.sndUna);
    this.rto.backoff();
    this.cc.onRetransmitTimeout(seqDiff(this.sndMax, this.sndUna), now);
    this.inRecovery = false;
    this.inflation = 0;
    this.dupAcks = 0;
    this.recover = this.sndMax;
    this.rttSeq = null; // Karn
    this.retxDeadline = null;
    this.sndNxt = this.sndUna;
    this.retransmits++;
    // what goes out now: the first segment (the window is one segment after a timeout)
    this.host.retransmitted(this, this.sndUna, Math.min(seqDiff(this.sndMax, this.sndUna), this.maxSegmentData(now)));
    this.output(now);
    if (this.retxDeadline === null && seqGt(this.sndMax, this.sndUna)) this.retxDeadline = now + this.rto.rto;
  }

  /** Resends up to `len` bytes at `seq` (fast retransmit, partial ACK, SACK recovery); returns how many. */
  private retransmit(seq: number, len: number, now: number): number {
    const size = Math.min(len, this.sndBuf.length - seqDiff(seq, this.dataSeq));
    if (size <= 0) return 0;
    this.retransmits++;
    this.host.retransmitted(this, seq, size);
    this.emit(ACK, seq, size, this.ackOptions(now), now);
    this.sb?.retransmitted(seq, size);
    // like Linux, resending the head restarts the retransmission timer
    if (seq === this.sndUna) this.retxDeadline = now + this.rto.rto;
    return size;
  }

  /**
   * Zero-window probe (RFC 9293 §3.8.6.1), with backoff. Like Linux, the
   * probe carries the already acknowledged sequence number SND.UNA−1 and no
   * data: the receiver must answer with an ACK telling its current window.
   */
  private probe(now: number): void {
    this.persistDeadline = null;
    const unsent = this.sndBuf.length - seqDiff(this.sndNxt, this.dataSeq);
    if (unsent <= 0 && !(this.finQueued && !this.finSent)) return;
    if (this.sndWnd > 0) {
      // the override timeout of RFC 9293 §3.8.6.2.1: send what a small window allows
      const maxData = this.maxSegmentData(now);
      const size = Math.min(maxData, this.sndWnd - seqDiff(this.sndNxt, this.sndUna), unsent);
      if (size <= 0) return this.output(now); // only the FIN is left
      this.sendSegment(this.sndNxt, size, size === unsent, maxData, now);
      this.sndNxt = seqAdd(this.sndNxt, size);
      this.sndMax = seqMax(this.sndMax, this.sndNxt);
      this.retxDeadline ??= now + this.rto.rto;
      return;
    }
    this.emit(ACK, seqAdd(this.sndUna, -1), 0, this.ackOptions(now), now);
    this.persistBackoff = Math.min(this.persistBackoff + 1, 10);
    this.persistDeadline = now + Math.min(this.rto.rto * 2 ** this.persistBackoff, 120_000);
  }

  /**
   * The keepalive timer (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6; Linux
   * tcp_keepalive_timer): after `idleMs` without a segment from the peer,
   * probe with SND.UNA−1 and no data every `intervalMs`; after `count`
   * unanswered probes the connection fails with ETIMEDOUT. Data in flight
   * leaves the work to the retransmission timer.
   */
  private keepaliveTimeout(now: number): void {
    const k = this.keepalive;
    const s = this.state;
    this.keepaliveDeadline = null;
    if (k === null || s === "CLOSED" || s === "TIME-WAIT") return;
    if (s === "SYN-SENT" || s === "SYN-RECEIVED" || seqGt(this.sndMax, this.sndUna) || seqDiff(this.sndNxt, this.dataSeq) < this.sndBuf.length) {
      this.keepaliveDeadline = now + k.idleMs;
      return;
    }
    if (this.probesOut >= k.count) {
      // like Linux, tell a peer that may be alive after all that the connection is gone
      this.sendControl(RST | ACK, this.sndNxt, now);
      return this.fail(this.softError ?? "ETIMEDOUT");
    }
    this.probesOut++;
    this.emit(ACK, seqAdd(this.sndUna, -1), 0, this.ackOptions(now), now);
    this.keepaliveDeadline = now + k.intervalMs;
  }

  /** A segment from the peer arrived: keepalive starts counting idle time again. */
  private heardFrom(now: number): void {
    this.probesOut = 0;
    this.keepaliveDeadline = now + this.keepalive!.idleMs;
  }

  /** Turns keepalive on with `k`, or off with null (SO_KEEPALIVE). */
  setKeepalive(k: TcpKeepalive | null, now: number): void {
    this.keepalive = k;
    this.probesOut = 0;
    this.keepaliveDeadline = k === null ? null : now + k.idleMs;
    this.host.timerArmed(this);
  }

  /**
   * An ICMP error quoting our segment with sequence number `seq` (RFC 9293
   * §3.9.1.1, RFC 5461; Linux tcp_v4_err / tcp_v6_err): ignored unless `seq`
   * lies in [SND.UNA, SND.NXT]; while connecting it ends the attempt with
   * `errno`; on a synchronized connection it is kept as a soft error that
   * replaces ETIMEDOUT if the connection later times out.
   */
  icmpError(seq: number, errno: string): void {
    const s = this.state;
    if (s === "CLOSED" || s === "TIME-WAIT") return;
    if (seqLt(seq, this.sndUna) || seqGt(seq, this.sndMax)) return;
    if (s === "SYN-SENT" || s === "SYN-RECEIVED") return this.fail(errno);
    this.softError = errno;
  }

  /**
   * The path MTU toward the peer went down (an ICMP error quoting our
   * segment `seq`; RFC 1191 §6.2, RFC 8201 §5.2; Linux tcp_v4_mtu_reduced):
   * ignored unless `seq` lies in [SND.UNA, SND.NXT] and `mss` (the new path
   * MTU less the IP and TCP headers) is below the MSS in use. Segments are
   * cut to `mss` from now on, and what is in flight goes out again at once
   * in segments that fit, without counting as congestion (Linux
   * tcp_simple_retransmit: no backoff, the window as it was).
   */
  pathMtuReduced(seq: number, mss: number, now: number): void {
    const s = this.state;
    if (s === "CLOSED" || s === "TIME-WAIT") return;
    if (seqLt(seq, this.sndUna) || seqGt(seq, this.sndMax)) return;
    if (mss >= this.mss) return;
    this.mss = Math.max(64, mss);
    this.cc.setMss(this.mss - (this.tsOk ? TIMESTAMP_OPTION : 0));
    if (s === "SYN-SENT" || s === "SYN-RECEIVED" || !seqGt(this.sndMax, this.sndUna)) return;
    this.inRecovery = false;
    this.inflation = 0;
    this.dupAcks = 0;
    this.recover = this.sndMax;
    this.rttSeq = null; // Karn: what is resent gives no RTT sample
    this.sndNxt = this.sndUna;
    this.sb?.clear(this.sndUna);
    this.retransmits++;
    this.host.retransmitted(this, this.sndUna, Math.min(seqDiff(this.sndMax, this.sndUna), this.maxSegmentData(now)));
    this.output(now);
  }

  private enterTimeWait(now: number): void {
    this.setState("TIME-WAIT");
    this.retxDeadline = null;
    this.waitDeadline = now + this.config.timeWaitMs;
  }

  // ---- helpers ----------------------------------------------------------------

  private takeSynOptions(syn: TcpPacket, ourMss: number): void {
    const peerMss = syn.mss >= 0 ? syn.mss : this.family === 4 ? 536 : 1220;
    this.mss = Math.max(64, Math.min(peerMss, ourMss));
    if (syn.windowScale >= 0) {
      this.sndWscale = Math.min(syn.windowScale, 14);
      this.rcvWscale = OUR_WSCALE;
    }
    this.sackOk = syn.sackPermitted;
    if (syn.hasTimestamps) {
      this.tsOk = true;
      this.tsRecent = syn.tsVal;
    }
    // congestion control counts in full segments: the MSS less the options every segment carries
    this.cc = createCongestionControl(this.config.congestion, { mss: this.mss - (this.tsOk ? TIMESTAMP_OPTION : 0) });
  }

  /**
   * The window an ACK offers, with receiver-side silly window avoidance
   * (RFC 9293 §3.8.6.2.2): the right edge moves on only when it can move by
   * at least min(half the buffer, one MSS). Scaling rounds the window down
   * (by less than one unit of 2^scale bytes); RCV.ADV keeps the edge offered
   * before, up to which data is still accepted.
   */
  private advertisedWindow(): number {
    const free = this.receiveWindow();
    const offered = seqDiff(this.rcvAdv, this.rcvNxt);
    if (offered < 0 || offered > free) return free;
    return free - offered < Math.min(this.rcvBuf.capacity >>> 1, this.mss) ? offered : free;
  }

  /** The receive window we can offer: free receive buffer. */
  receiveWindow(): number {
    return Math.min(this.rcvBuf.free, MAX_WINDOW);
  }

  private tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  private setEstablished(): void {
    this.established = true;
    this.connectDeadline = null;
    this.rto.establish();
    this.setState("ESTABLISHED");
    this.onWake(EPOLLOUT);
  }

  private reset(now: number): void {
    void now;
    const s = this.state;
    if (s === "SYN-RECEIVED" && !this.established) return this.setState("CLOSED");
    if (s === "CLOSING" || s === "LAST-ACK" || s === "TIME-WAIT") return this.setState("CLOSED");
    this.fail(s === "CLOSE-WAIT" ? "EPIPE" : "ECONNRESET");
  }

  /** Ends the connection with an error the socket reports. */
  private fail(errno: string): void {
    this.error = errno;
    this.retxDeadline = null;
    this.setState("CLOSED");
    this.onWake(EPOLLERR | EPOLLHUP | EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  }

  setState(to: TcpState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (to === "CLOSED") {
      this.retxDeadline = null;
      this.ackDeadline = null;
      this.persistDeadline = null;
      this.waitDeadline = null;
      this.keepaliveDeadline = null;
      this.connectDeadline = null;
    }
    this.host.stateChanged(this, from, to);
  }

  /** Sets our MSS from the route MTU before the handshake. */
  setMss(mss: number): void {
    this.mss = mss;
    this.ourMss = mss;
  }

  stats(): TcpStats {
    return {
      state: this.state,
      congestion: this.cc.name,
      cwnd: this.cc.cwnd,
      ssthresh: this.cc.ssthresh,
      srtt: this.rto.srtt,
      rttvar: this.rto.rttvar,
      rto: this.rto.rto,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      retransmits: this.retransmits,
      sackedBytes: this.sackedBytes,
      mss: this.mss,
    };
  }
}

/** The earlier of two optional deadlines. */
function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null || a <= b ? a : b;
}
