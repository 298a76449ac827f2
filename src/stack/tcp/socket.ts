/**
 * The virtual TcpStream: a socket over a {@link TcpConnection} with the
 * kernel's results — the same WOULD_BLOCK points, errno codes and readiness
 * flags as a Linux TCP socket in the same state.
 */
import { IoError, WOULD_BLOCK, type WouldBlock } from "../../error.js";
import { checkBuf, checkBufs, checkLinger, checkTtl, shutdownHow } from "../../net/arg-checks.js";
import { keepaliveSettings, type TcpKeepalive } from "../../net/keepalive.js";
import type { TcpStream } from "../../net/network.js";
import { SocketAddr } from "../../net/socket-addr.js";
import { C } from "../../native.js";
import { VirtualSource } from "../virtual-source.js";
import type { Poll } from "../../poll/poll.js";
import type { TcpConnection } from "./connection.js";

/** What a stream needs from its stack. @internal */
export interface StreamHost {
  now(): number;
  /** The Poll that drives the stack, if it has one. */
  readonly poll: Poll | undefined;
}

export class VirtualTcpStream extends VirtualSource implements TcpStream {
  private writeShut = false;
  // made on demand: an idle connection should not carry two address objects
  private local: SocketAddr | null = null;
  private peer: SocketAddr | null = null;
  /** the keepalive times last set, kept while keepalive is off */
  private keepaliveTimes: TcpKeepalive | null = null;
  /** SO_LINGER 0: close() resets */
  private resetOnClose = false;

  /** @internal */
  constructor(
    private readonly host: StreamHost,
    readonly conn: TcpConnection,
  ) {
    super();
    conn.onWake = (bits) => this.wake(bits);
  }

  protected readiness(): number {
    return this.conn.readiness(this.writeShut);
  }

  /** @internal the Poll that drives this stream's stack (adapters register with it) */
  get stackPoll(): Poll | undefined {
    return this.host.poll;
  }

  read(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return this.receive(buf, false);
  }

  peek(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return this.receive(buf, true);
  }

  readv(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return this.receive(bufs, false);
  }

  /**
   * Linux tcp_recvmsg order: queued data; end of stream once the peer's FIN
   * arrived (SOCK_DONE), even with an error pending; then the error; then a
   * shutdown; else WOULD_BLOCK. Several buffers are one call, as readv is.
   */
  private receive(buf: Uint8Array | Uint8Array[], peek: boolean): number | WouldBlock {
    this.live();
    const c = this.conn;
    const size = byteLength(buf);
    if (c.rcvBuf.length > 0) {
      if (size === 0) return 0;
      const now = this.host.now();
      return Array.isArray(buf) ? c.readv(buf, now) : c.read(buf, now, peek);
    }
    if (c.peerFin) return 0;
    if (c.error !== null) throw this.takePending();
    if (c.peerFin || c.readShut || c.state === "CLOSED") {
      if (c.state === "CLOSED" && !c.established && !c.readShut) throw new IoError("ENOTCONN", undefined, "read");
      return 0;
    }
    if (size === 0) return 0;
    return WOULD_BLOCK;
  }

  write(buf: Uint8Array): number | WouldBlock {
    checkBuf(buf);
    return this.send(buf);
  }

  writev(bufs: Uint8Array[]): number | WouldBlock {
    checkBufs(bufs);
    return this.send(bufs);
  }

  /**
   * Linux tcp_sendmsg: a pending error, then EPIPE after shutdown; EAGAIN
   * while connecting or full. Several buffers are one call, as writev is:
   * their bytes are queued together before anything is sent.
   */
  private send(buf: Uint8Array | Uint8Array[]): number | WouldBlock {
    this.live();
    const c = this.conn;
    if (c.error !== null) throw this.takePending();
    if (this.writeShut || c.state === "CLOSED" || (c.state !== "ESTABLISHED" && c.state !== "CLOSE-WAIT" && c.established)) {
      throw new IoError("EPIPE", undefined, "write");
    }
    if (c.state === "SYN-SENT" || c.state === "SYN-RECEIVED") return WOULD_BLOCK;
    if (byteLength(buf) === 0) return 0;
    const now = this.host.now();
    const n = Array.isArray(buf) ? c.writev(buf, now) : c.write(buf, now);
    return n === 0 ? WOULD_BLOCK : n;
  }

  shutdown(how: "read" | "write" | "both"): void {
    const h = shutdownHow(how);
    this.live();
    const c = this.conn;
    if (!c.established && c.state !== "SYN-RECEIVED") throw new IoError("ENOTCONN", undefined, "shutdown");
    if (h !== C.SHUT_WR) {
      c.readShut = true;
      this.wake(C.EPOLLIN | C.EPOLLRDHUP);
    }
    if (h !== C.SHUT_RD && !this.writeShut) {
      this.writeShut = true;
      c.shutdownWrite(this.host.now());
      this.wake(C.EPOLLOUT);
    }
  }

  peerAddr(): SocketAddr {
    this.live();
    const s = this.conn.state;
    if (s === "SYN-SENT" || s === "CLOSED") throw new IoError("ENOTCONN", undefined, "getpeername");
    return (this.peer ??= SocketAddr.fromBytes(this.conn.remote, this.conn.remotePort));
  }

  localAddr(): SocketAddr {
    this.live();
    return (this.local ??= SocketAddr.fromBytes(this.conn.local, this.conn.localPort));
  }

  setNoDelay(noDelay: boolean): void {
    if (typeof noDelay !== "boolean") throw new TypeError("noDelay must be a boolean");
    this.live();
    this.conn.noDelay = noDelay;
    if (noDelay) this.conn.output(this.host.now());
  }

  noDelay(): boolean {
    this.live();
    return this.conn.noDelay;
  }

  setKeepalive(keepalive: Partial<TcpKeepalive> | null): void {
    this.live();
    // like the kernel's TCP_KEEPIDLE & co., the times stay set while keepalive is off
    if (keepalive !== null) this.keepaliveTimes = keepaliveSettings(keepalive, this.keepaliveTimes ?? this.configuredKeepalive());
    this.conn.setKeepalive(keepalive === null ? null : this.keepaliveTimes, this.host.now());
  }

  keepalive(): TcpKeepalive | null {
    this.live();
    const k = this.conn.keepalive;
    return k === null ? null : { ...k };
  }

  setLinger(seconds: number | null): void {
    checkLinger(seconds);
    this.live();
    this.resetOnClose = seconds === 0;
  }

  /** The Stack's keepalive settings (`tcp.keepaliveIdleMs` & co.). */
  private configuredKeepalive(): TcpKeepalive {
    const c = this.conn.config;
    return { idleMs: c.keepaliveIdleMs, intervalMs: c.keepaliveIntervalMs, count: c.keepaliveCount };
  }

  setTtl(ttl: number): void {
    checkTtl(ttl);
    this.live();
    this.conn.ttl = ttl;
  }

  ttl(): number {
    this.live();
    return this.conn.ttl;
  }

  takeError(): IoError | null {
    this.live();
    return this.conn.error === null ? null : this.takePending("SO_ERROR");
  }

  private takePending(syscall?: string): IoError {
    const e = new IoError(this.conn.error!, undefined, syscall);
    this.conn.error = null;
    return e;
  }

  /**
   * Closes the socket. Like Linux: unread data aborts the connection with a
   * RST; otherwise a FIN follows the queued data and the connection finishes
   * in the background (FIN-WAIT, TIME-WAIT).
   */
  override close(): void {
    if (this.isClosed()) return;
    const c = this.conn;
    const now = this.host.now();
    c.onWake = () => {};
    c.orphaned(now);
    if (c.rcvBuf.length > 0 || this.resetOnClose) c.abort(now);
    else if (c.state === "SYN-SENT" || c.state === "SYN-RECEIVED") c.abort(now);
    else c.shutdownWrite(now);
    super.close();
  }
}

/** Bytes in one buffer or in all of several. */
function byteLength(buf: Uint8Array | readonly Uint8Array[]): number {
  if (!Array.isArray(buf)) return (buf as Uint8Array).length;
  let n = 0;
  for (const b of buf) n += b.length;
  return n;
}
