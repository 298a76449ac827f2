/**
 * {@link TcpSocket}: any {@link TcpStream}, kernel or virtual, as a Node
 * `stream.Duplex` that behaves like a `net.Socket` — enough for Node's HTTP
 * client, server and Agent, and for `net.Server` connection handlers.
 */
import { Duplex } from "node:stream";
import type { AddressInfo, Socket } from "node:net";
import { IoError, WOULD_BLOCK } from "../error.js";
import type { Network, TcpStream } from "../net/network.js";
import type { SocketAddr, SocketAddrLike } from "../net/socket-addr.js";
import { Interest } from "../poll/interest.js";
import type { Token } from "../poll/token.js";
import { PollDriver } from "./driver.js";
import { IdleTimer } from "./idle.js";
import { pollOf, type AdapterOptions } from "./poll-of.js";

/** Bytes asked of the TcpStream per read. */
const READ_SIZE = 64 * 1024;
/** A read this small is copied out of the read buffer instead of keeping all of it. */
const COPY_BELOW = 16 * 1024;
/** Buffers handed to one writev. */
const MAX_IOV = 64;

/** Options of {@link toDuplex} and {@link connect}. */
export interface TcpSocketOptions extends AdapterOptions {
  /**
   * As net.Socket's: when false (the default), the socket ends its writable
   * side once the peer's end of stream has been read (after what was already
   * written); when true, the writable side stays open until `end()`.
   */
  allowHalfOpen?: boolean;
  /** Bytes buffered on the readable side before reading the TcpStream stops (Node's default). */
  readableHighWaterMark?: number;
  /** Bytes buffered on the writable side before `write()` returns false (Node's default). */
  writableHighWaterMark?: number;
}

/** net.Socket's `readyState`. */
export type TcpSocketReadyState = "opening" | "open" | "readOnly" | "writeOnly" | "closed";

/** A write the TcpStream has not taken in full yet. */
interface PendingWrite {
  bufs: Uint8Array[];
  callback: (error?: Error | null) => void;
}

/**
 * A {@link TcpStream} as a Node Duplex with net.Socket's behaviour:
 *
 * - **Reading** is edge-triggered: on readiness the socket reads until
 *   `WOULD_BLOCK`, pushing each chunk, and stops reading the TcpStream as soon
 *   as `push()` returns false (real backpressure: the peer's window fills);
 *   it reads again when the consumer asks (`_read`). End of stream is
 *   `push(null)` ('end').
 * - **Writing** hands bytes to the TcpStream until `WOULD_BLOCK`, then waits
 *   for writability; a write's callback runs once all its bytes are in the
 *   TcpStream, so `write()` returns false and 'drain' follows as with
 *   net.Socket. Writes made while connecting wait for the connection.
 * - **end()** shuts the write side down (FIN) after the pending writes;
 *   **destroy()** closes the TcpStream (a graceful close, as net.Socket's);
 *   **resetAndDestroy()** closes with SO_LINGER 0 (RST).
 * - **Errors** of the TcpStream (`IoError`: `ECONNRESET`, `ECONNREFUSED`,
 *   `ETIMEDOUT`, `EPIPE`, ...) destroy the socket; 'error' carries the
 *   IoError, whose `code` is the errno name as in Node's errors. 'close' gets
 *   `hadError` as with net.Socket.
 * - **setTimeout** is an idle timeout ('timeout' is emitted, the socket is not
 *   destroyed): Node's timers on a real-time Poll, virtual time on a
 *   SimClock Poll (see {@link PollDriver.atTime}).
 * - **ref/unref** decide whether the socket keeps the Poll's loop, and so the
 *   process, alive. While no watched socket of a real-time Poll is
 *   referenced, the Poll is not polled: events of unreferenced sockets are
 *   handled once something referenced is watched again.
 *
 * The socket owns its TcpStream: it closes it when destroyed.
 */
export class TcpSocket extends Duplex implements Socket {
  /** True until the connection is made (sockets from {@link connect}). */
  connecting: boolean;
  /** Bytes read from the TcpStream. */
  bytesRead = 0;
  /** The `net.Server` (or `http.Server`) the socket was accepted for, set by {@link serve}. */
  server: unknown = undefined;
  /** As net.Socket's (with `autoSelectFamily`): the `"ip:port"` that {@link connect} tried. */
  autoSelectFamilyAttemptedAddresses: string[] = [];

  private readonly stream: TcpStream | null;
  private readonly driver: PollDriver | null;
  private readonly token: Token | null;
  private readonly idle: IdleTimer | null;
  private written = 0;
  /** `_read` asked for data and `push()` has not said stop */
  private wantRead = false;
  private pendingWrite: PendingWrite | null = null;
  /** `_final` waiting for the connection */
  private pendingFinal: ((error?: Error | null) => void) | null = null;
  private resetOnDestroy = false;
  private peer: SocketAddr | null = null;
  private local: SocketAddr | null = null;

  /**
   * Wraps `stream`. A stream still connecting (from `tcpConnect`) should be
   * wrapped with {@link connect}, which also reports the connection; this
   * constructor takes `connecting` from it. A `stream` of null makes a socket
   * that only fails with `failure` (a connect that threw).
   * @internal use {@link toDuplex} or {@link connect}
   */
  constructor(stream: TcpStream | null, options: TcpSocketOptions & { connecting?: boolean; failure?: Error } = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen === true,
      emitClose: false,
      autoDestroy: true,
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
    });
    this.stream = stream;
    this.connecting = options.connecting === true;
    if (stream === null) {
      this.driver = null;
      this.token = null;
      this.idle = null;
      const failure = options.failure ?? new IoError("EBADF", undefined, "connect");
      process.nextTick(() => this.destroy(failure));
      return;
    }
    const driver = PollDriver.for(pollOf(stream, options));
    this.driver = driver;
    this.idle = new IdleTimer(driver, () => this.emit("timeout"));
    this.token = driver.watch(stream, Interest.READABLE.add(Interest.WRITABLE), () => this.onReady());
  }

  // ---- net.Socket's properties ---------------------------------------------

  /** Bytes handed to the TcpStream (net.Socket also counts bytes still queued in the socket). */
  get bytesWritten(): number {
    return this.written;
  }

  /** True while connecting or once closed (as net.Socket's: no usable connection). */
  get pending(): boolean {
    return this.connecting || this.destroyed;
  }

  get readyState(): TcpSocketReadyState {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  /** Bytes waiting to be written (net.Socket's deprecated alias of `writableLength`). */
  get bufferSize(): number {
    return this.writableLength;
  }

  /** The idle timeout set with {@link setTimeout} (ms), undefined when none was set. */
  get timeout(): number | undefined {
    const ms = this.idle?.timeout ?? 0;
    return ms === 0 ? undefined : ms;
  }

  get remoteAddress(): string | undefined {
    return this.peerAddr()?.ip;
  }

  get remotePort(): number | undefined {
    return this.peerAddr()?.port;
  }

  get remoteFamily(): "IPv4" | "IPv6" | undefined {
    const p = this.peerAddr();
    return p === undefined ? undefined : familyName(p);
  }

  get localAddress(): string | undefined {
    return this.localAddr()?.ip;
  }

  get localPort(): number | undefined {
    return this.localAddr()?.port;
  }

  get localFamily(): "IPv4" | "IPv6" | undefined {
    const l = this.localAddr();
    return l === undefined ? undefined : familyName(l);
  }

  /** The local address as net.Socket gives it; `{}` when unknown (closed before it was asked). */
  address(): AddressInfo | Record<string, never> {
    const l = this.localAddr();
    return l === undefined ? {} : { address: l.ip, family: familyName(l), port: l.port };
  }

  // ---- net.Socket's methods ------------------------------------------------

  /** TCP_NODELAY (default `true`, as net.Socket). Ignored once closed. */
  setNoDelay(noDelay = true): this {
    this.live()?.setNoDelay(noDelay);
    return this;
  }

  /**
   * SO_KEEPALIVE; `initialDelay` (ms, whole seconds count, as in Node) sets
   * the idle time before the first probe, 0 keeps the current one.
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const s = this.live();
    if (s === undefined) return this;
    const seconds = Math.floor(initialDelay / 1000);
    s.setKeepalive(enable ? (seconds > 0 ? { idleMs: seconds * 1000 } : {}) : null);
    return this;
  }

  /**
   * The idle timeout: 'timeout' is emitted after `ms` without reads or
   * writes (0 turns it off). `callback` is added as a one-time 'timeout'
   * listener (removed when `ms` is 0).
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`timeout must be a finite number >= 0, got ${String(ms)}`);
    if (this.destroyed || this.idle === null) return this;
    this.idle.set(ms);
    if (callback !== undefined) {
      if (ms === 0) this.removeListener("timeout", callback);
      else this.once("timeout", callback);
    }
    return this;
  }

  /**
   * Not supported: a TcpSocket is connected by {@link connect} (or wraps a
   * connected stream); throws `IoError` `EISCONN`. Present so that a
   * TcpSocket is typed as a `net.Socket`.
   */
  connect(..._args: unknown[]): never {
    throw new IoError("EISCONN", "a TcpSocket is connected by tsmio's connect(network, addr), not by socket.connect()");
  }

  /** Keeps the process alive while the socket is open (the default). */
  ref(): this {
    if (this.token !== null && !this.destroyed) this.driver!.setRef(this.token, true);
    return this;
  }

  /** Lets the process exit even though the socket is open. */
  unref(): this {
    if (this.token !== null && !this.destroyed) this.driver!.setRef(this.token, false);
    return this;
  }

  /** Ends the writable side, then destroys the socket once everything is written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  /**
   * Closes the connection with a RST (SO_LINGER 0) and destroys the socket;
   * while connecting, once connected.
   */
  resetAndDestroy(): this {
    if (this.stream === null || this.destroyed) {
      if (!this.destroyed) this.destroy(new IoError("EBADF", "socket is closed"));
      return this;
    }
    if (this.connecting) {
      this.once("connect", () => this.resetAndDestroy());
      return this;
    }
    this.resetOnDestroy = true;
    return this.destroy();
  }

  // ---- Duplex internals ----------------------------------------------------

  override _read(): void {
    this.wantRead = true;
    if (!this.connecting) this.pull();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.startWrite([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.startWrite(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.pendingFinal = callback;
      return;
    }
    this.shutdownWrite(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.idle?.stop();
    this.connecting = false;
    const s = this.stream;
    if (s !== null) {
      // remember the addresses: net.Socket still answers them once closed
      this.peerAddr();
      this.localAddr();
      this.driver!.unwatch(this.token!);
      try {
        if (this.resetOnDestroy) s.setLinger(0);
      } catch {
        // closed already
      }
      s.close();
    }
    const hadError = error !== null;
    callback(error);
    process.nextTick(() => this.emit("close", hadError));
  }

  // ---- readiness -----------------------------------------------------------

  /** A readiness event: finish connecting, then carry on writing and reading. */
  private onReady(): void {
    if (this.destroyed) return;
    if (this.connecting && !this.finishConnect()) return;
    this.flush();
    if (this.wantRead && !this.destroyed) this.pull();
  }

  /** Whether the connect is done (and succeeded); a failure destroys the socket. */
  private finishConnect(): boolean {
    const s = this.stream!;
    try {
      const err = s.takeError();
      if (err !== null) throw err;
      this.peer = s.peerAddr();
    } catch (e) {
      if (e instanceof IoError && e.code === "ENOTCONN") return false; // still connecting
      this.destroy(asError(e));
      return false;
    }
    this.connecting = false;
    this.emit("connect");
    this.emit("ready");
    if (this.destroyed) return false;
    if (this.pendingWrite !== null) this.flush();
    const final = this.pendingFinal;
    this.pendingFinal = null;
    if (final !== null && !this.destroyed) this.shutdownWrite(final);
    return !this.destroyed;
  }

  /** Reads until WOULD_BLOCK, end of stream, or `push()` saying stop. */
  private pull(): void {
    const s = this.stream!;
    while (this.wantRead && !this.destroyed) {
      const buf = Buffer.allocUnsafe(READ_SIZE);
      let n;
      try {
        n = s.read(buf);
      } catch (e) {
        this.destroy(asError(e));
        return;
      }
      if (n === WOULD_BLOCK) return;
      if (n === 0) {
        this.wantRead = false;
        this.push(null);
        return;
      }
      this.bytesRead += n;
      this.idle!.touch();
      const chunk = n < COPY_BELOW ? Buffer.from(buf.subarray(0, n)) : buf.subarray(0, n);
      if (!this.push(chunk)) this.wantRead = false;
    }
  }

  private startWrite(bufs: Uint8Array[], callback: (error?: Error | null) => void): void {
    this.pendingWrite = { bufs: bufs.filter((b) => b.length > 0), callback };
    this.idle?.touch();
    if (!this.connecting) this.flush();
  }

  /** Hands the pending write to the TcpStream until it is all taken or WOULD_BLOCK. */
  private flush(): void {
    const w = this.pendingWrite;
    if (w === null || this.connecting) return;
    const s = this.stream!;
    const bufs = w.bufs;
    while (bufs.length > 0) {
      let n;
      try {
        n = bufs.length === 1 ? s.write(bufs[0]!) : s.writev(bufs.length > MAX_IOV ? bufs.slice(0, MAX_IOV) : bufs);
      } catch (e) {
        this.pendingWrite = null;
        w.callback(asError(e));
        return;
      }
      // nothing taken of a non-empty write: as good as WOULD_BLOCK (the writable event follows)
      if (n === WOULD_BLOCK || (n === 0 && bufs.some((b) => b.length > 0))) return;
      this.written += n;
      this.idle!.touch();
      // drop what was written, and empty buffers, which take nothing
      while (bufs.length > 0 && (n > 0 || bufs[0]!.length === 0)) {
        const first = bufs[0]!;
        if (n >= first.length) {
          n -= first.length;
          bufs.shift();
        } else {
          bufs[0] = first.subarray(n);
          n = 0;
        }
      }
    }
    this.pendingWrite = null;
    w.callback();
  }

  /** `shutdown("write")` (FIN); a connection already gone is not an error, as in Node. */
  private shutdownWrite(callback: (error?: Error | null) => void): void {
    const s = this.stream;
    if (s === null || this.destroyed) return callback();
    try {
      s.shutdown("write");
    } catch (e) {
      if (e instanceof IoError && e.code === "ENOTCONN") return callback();
      return callback(asError(e));
    }
    callback();
  }

  // ---- helpers -------------------------------------------------------------

  /** The TcpStream while it is open. */
  private live(): TcpStream | undefined {
    return this.destroyed || this.stream === null ? undefined : this.stream;
  }

  private peerAddr(): SocketAddr | undefined {
    if (this.peer === null && !this.connecting) {
      try {
        const s = this.live();
        if (s !== undefined) this.peer = s.peerAddr();
      } catch {
        // not connected
      }
    }
    return this.peer ?? undefined;
  }

  private localAddr(): SocketAddr | undefined {
    if (this.local === null) {
      try {
        const s = this.live();
        if (s !== undefined) this.local = s.localAddr();
      } catch {
        // not bound
      }
    }
    return this.local ?? undefined;
  }
}

/**
 * `stream` as a {@link TcpSocket} (a net.Socket-like Duplex), for kernel and
 * virtual streams alike. The socket owns the stream. It is watched with the
 * Poll of `options.poll`, else the Poll of the virtual stream's Stack
 * (TypeError if the Stack has none), else the process-wide real-time Poll
 * for kernel streams. A stream still connecting is reported as connected
 * ('connect') when it is; {@link connect} does both steps.
 */
export function toDuplex(stream: TcpStream, options?: TcpSocketOptions): TcpSocket {
  return new TcpSocket(stream, { ...options, connecting: isConnecting(stream) });
}

/**
 * Connects to `addr` through `network` (`kernel` or a Stack), like
 * `net.connect`: the socket is `connecting` until the handshake completes,
 * then emits 'connect' and 'ready'; a failure (`ECONNREFUSED`,
 * `ETIMEDOUT`, `ENETUNREACH`, ...) is an 'error' event, never a throw (only
 * bad arguments throw). Writes made meanwhile are sent once connected.
 * Usable as `http.request({ createConnection: () => connect(net, addr) })`
 * and from an `http.Agent`'s `createConnection`.
 */
export function connect(network: Network, addr: SocketAddrLike, options?: TcpSocketOptions): TcpSocket {
  let stream: TcpStream;
  try {
    stream = network.tcpConnect(addr);
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
    return withTarget(new TcpSocket(null, { ...options, connecting: true, failure: e }), addr);
  }
  try {
    return withTarget(new TcpSocket(stream, { ...options, connecting: true }), addr);
  } catch (e) {
    stream.close(); // no Poll to watch it with: the stream was ours
    throw e;
  }
}

/** Records the address a connect tried. */
function withTarget(socket: TcpSocket, addr: SocketAddrLike): TcpSocket {
  socket.autoSelectFamilyAttemptedAddresses = [String(addr)];
  return socket;
}

/** Whether `stream` has no peer yet (connecting, or failed to). */
function isConnecting(stream: TcpStream): boolean {
  try {
    stream.peerAddr();
    return false;
  } catch (e) {
    if (e instanceof IoError && e.code === "ENOTCONN") return true;
    throw e;
  }
}

function familyName(a: SocketAddr): "IPv4" | "IPv6" {
  return a.family === 4 ? "IPv4" : "IPv6";
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
